/**
 * The feed shared by several server nodes through Redis (`FEED=redis://…`).
 *
 * Messages live in a Redis Stream trimmed to the history size. A Lua script assigns each
 * id with INCR and adds the entry with that id (`<id>-0`) in one atomic step, so ids stay
 * the contract's plain integers 1, 2, 3… whichever node took the publish, and the cursor
 * contract does not change. The feed's epoch is a third key, created by whichever node
 * or publish finds it missing; every entry carries the epoch it was stored under, so a
 * node sees at its first entry of a new feed that Redis lost the old one, even when the
 * new feed has already counted past the old one's ids.
 *
 * Each node reads the stream once, with one blocking XREAD, into a local mirror of the
 * history, and fans out from there to its own clients: a message costs Redis one read per
 * node, not one per client. Most reads (`since`) are answered from the mirror. A cursor
 * ahead of the mirror, or of another epoch, is either one another node has already served
 * (this node lags by a few hundred microseconds) or one from a feed that no longer exists
 * (Redis lost its data); only Redis can tell, so that case asks it.
 *
 * When Redis goes away the node keeps serving its mirror, reports unhealthy, and refuses
 * publishes with 503; the reader reconnects by itself and catches up from the last entry
 * it saw, so clients catch up from their cursors.
 *
 * "Away" includes a Redis that is alive but does not answer (stopped by SIGSTOP, stuck in
 * a long script, a silent network): its TCP connections stay up, so ioredis still says
 * `ready`. The node therefore asks Redis for its clock every PROBE_INTERVAL_MS and counts
 * Redis as away once nothing has answered for REDIS_SILENCE_LIMIT_MS. The same clock
 * gives every publish a deadline on Redis's own time, checked by the publish script, so a
 * script that runs after its publisher was answered stores nothing.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { DEFAULT_CONFIG } from './config.ts';
import { FeedUnavailable, PublishUnconfirmed } from './errors.ts';
import {
  type Batch,
  type Feed,
  type FeedHealth,
  type FeedSubscriber,
  History,
  Listeners,
  batchFrom,
  isEpoch,
  newEpoch,
  preciseNow,
} from './feed.ts';
import type { Message, PublishInput } from './message.ts';
import { redact } from './redact.ts';

// bench/ imports redact from here; it lives in redact.ts, for the API and main.ts too.
export { redact };

export interface RedisFeedOptions {
  /** `redis://[user:password@]host:port[/db]` */
  url: string;
  /** Messages kept, in the stream and in each node's mirror. */
  historySize: number;
  /** Prefix of the three keys, so several labs can share one Redis. Default `realtime-lab`. */
  keyPrefix?: string;
  /** Where a throwing listener is reported. */
  onListenerError?: (error: unknown) => void;
  /** Where connection trouble is reported (once per outage, not per retry). */
  log?: (line: string) => void;
  /** How long `open` waits for the first connection before serving unhealthy, ms. Default 3000. */
  connectWaitMs?: number;
}

/** Entries one XREAD takes at most; more simply take more rounds. */
const READ_COUNT = 1000;
/** How long one XREAD blocks, ms. */
const READ_BLOCK_MS = 1000;
/**
 * How long any command may wait for its answer, ms (an XREAD: past its block). A connection
 * with a command that timed out is dropped and opened again, so nothing queues up behind
 * a command Redis has not answered, and a silently dead connection does not live on.
 */
const ANSWER_TIMEOUT_MS = READ_BLOCK_MS + 1000;
/** How long a publish waits for its own message to reach this node's mirror, ms. */
const OWN_ECHO_WAIT_MS = 1000;
/** How often the node asks Redis for its clock (TIME), ms: the heartbeat that proves Redis answers. */
const PROBE_INTERVAL_MS = 500;
/**
 * Silence after which Redis counts as not answering, ms, default 2000: health turns 503 and
 * publishes are refused at once, without being sent. A live Redis answers a probe every
 * PROBE_INTERVAL_MS.
 */
export const REDIS_SILENCE_LIMIT_MS = 2000;
/**
 * The time Redis has to run a publish, ms, default 1000. The publisher is answered when it
 * runs out (503 `RTL_PUBLISH_UNCONFIRMED`), and the script, if Redis runs it later, stores
 * nothing: the deadline is on Redis's own clock.
 */
export const PUBLISH_DEADLINE_MS = 1000;
/** Probe readings of Redis's clock kept to compute publish deadlines: about 5 s of them. */
const CLOCK_READINGS_KEPT = 10;
/**
 * How fast two clocks may drift apart, ms per ms: NTP slews a clock by at most 500 ppm,
 * and both the node's monotonic clock and Redis's may be slewed, in opposite directions.
 * (A clock *stepped* back is not covered: see docs/guarantees.md.)
 */
const CLOCK_DRIFT_PER_MS = 0.001;

// KEYS[1] the id counter, KEYS[2] the stream, KEYS[3] the epoch; ARGV: history size, ts,
// author, text, deadline, and an epoch for a feed that has none yet.
// The deadline (epoch ms on Redis's clock) comes first: a script that Redis runs after it
// (it sat in a socket while Redis was stopped) takes no id and stores nothing, because its
// publisher has already been answered 503. Returns 0 then, else {id, epoch}.
// INCR and XADD run as one: no other publish can take an id between them, and the stream
// stays sorted by id with every id present. The epoch is created here too, so a publish
// to an emptied Redis never stores a message under no epoch (or under the lost feed's,
// which a node would resume).
export const PUBLISH_SCRIPT = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + tonumber(now[2]) / 1000 >= tonumber(ARGV[5]) then return 0 end
redis.call('SET', KEYS[3], ARGV[6], 'NX')
local epoch = redis.call('GET', KEYS[3])
local id = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], id .. '-0', 'ts', ARGV[2], 'author', ARGV[3], 'text', ARGV[4], 'epoch', epoch)
return {id, epoch}
`;

// KEYS[1] the epoch, KEYS[2] the id counter, KEYS[3] the stream; ARGV: the epoch the
// caller saw, and the one to take instead. Run when the counter is found below what a node
// holds under one epoch: Redis lost the counter (or the stream) but kept the epoch key, so
// ids would be reused under the same epoch, and a client's old cursor would silently read
// the new messages as the old ones' sequel. The feed takes a new epoch, once: the first
// node to run it swaps, the others find the swap done. The counter is lifted past what the
// stream still holds, or every publish would take an id the stream refuses.
export const RENEW_EPOCH_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) end
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
if last then
  local id = tonumber(string.match(last[1], '^(%d+)'))
  if id > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], id) end
end
return redis.call('GET', KEYS[1])
`;

type StreamEntry = [id: string, fields: string[]];

/**
 * The feed's three keys under `prefix`: the id counter, the stream and the epoch. One hash
 * tag, so all land on the same slot of a Redis Cluster too.
 */
export function feedKeys(prefix: string): { counter: string; stream: string; epoch: string } {
  return { counter: `{${prefix}}:last-id`, stream: `{${prefix}}:messages`, epoch: `{${prefix}}:epoch` };
}

interface RedisWithScript extends Redis {
  /** Resolves with 0 when Redis ran it past `deadline` (nothing stored), else with the id and the feed's epoch. */
  publishMessage(
    counterKey: string,
    streamKey: string,
    epochKey: string,
    historySize: number,
    ts: string,
    author: string,
    text: string,
    deadline: string,
    epochIfNone: string,
  ): Promise<0 | [id: number, epoch: string]>;
}

export class RedisFeed implements Feed {
  readonly #url: string;
  readonly #historySize: number;
  readonly #counterKey: string;
  readonly #streamKey: string;
  readonly #epochKey: string;
  readonly #log: (line: string) => void;
  /** Publishes, the clock probe and the rare direct reads. Fails fast while disconnected: a publish must not wait or be sent twice. */
  readonly #commands: RedisWithScript;
  /** The blocking XREAD: it needs a connection of its own. */
  readonly #reader: Redis;
  readonly #history: History;
  readonly #listeners: Listeners;
  /** Publishes waiting for their message to reach the mirror, by id. */
  readonly #echoes = new Map<number, { epoch: string; release: () => void }>();
  /**
   * The epoch offered to Redis in case the feed has none (SET NX): kept until Redis takes
   * it, so a publish does not pay for a new random name it almost never uses.
   */
  #epochIfNone = newEpoch();
  /** The stream id of the last entry read. */
  #readFrom = '0-0';
  /** Epochs of entries found to be leftovers of an older feed in the mirrored stream: skipped. */
  readonly #leftoverEpochs = new Set<string>();
  #readerError: string | undefined;
  #closed = false;
  #following: Promise<void> = Promise.resolve();
  /** When Redis last answered the commands connection, this process's clock (preciseNow), ms. */
  #lastAnswerAt = -Infinity;
  /**
   * The last CLOCK_READINGS_KEPT probes' readings of Redis's clock: `ahead` is Redis's
   * clock minus this process's at the answer, a lower bound of the true difference (Redis
   * read its clock before the answer arrived), taken at `at` (preciseNow).
   */
  readonly #clockReadings: { ahead: number; at: number }[] = [];
  /** Resolves at the first probe's answer: publishes need Redis's clock. */
  readonly #clockKnown: Promise<void>;
  #onClockKnown: () => void = () => {};
  #probing = false;
  #probeTimer: NodeJS.Timeout | undefined;
  /** Why Redis is away, as logged once; undefined while it answers. */
  #outage: string | undefined;

  private constructor(options: RedisFeedOptions) {
    this.#url = options.url;
    this.#historySize = options.historySize;
    const keys = feedKeys(options.keyPrefix ?? DEFAULT_CONFIG.redisKeyPrefix);
    this.#counterKey = keys.counter;
    this.#streamKey = keys.stream;
    this.#epochKey = keys.epoch;
    this.#log = options.log ?? ((line) => console.error(line));
    // Replaced by Redis's epoch at the first resync; until Redis answers, the node holds
    // nothing and names that nothing with an epoch of its own.
    this.#history = new History(options.historySize, newEpoch());
    this.#listeners = new Listeners(options.onListenerError);
    this.#clockKnown = new Promise((resolve) => (this.#onClockKnown = resolve));
    const common: RedisOptions = {
      // Back on its feet within a second of Redis returning.
      retryStrategy: (times) => Math.min(50 * times, 1000),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      // Every command, the connection's own handshake included, gets an answer or an error.
      // (Not ioredis's blockingTimeout: it resolves an unanswered XREAD with null, which
      // looks like a quiet second, and hid a stopped Redis.)
      commandTimeout: ANSWER_TIMEOUT_MS,
      lazyConnect: true,
    };
    this.#commands = new Redis(options.url, { ...common, connectionName: 'realtime-lab' }) as RedisWithScript;
    this.#commands.defineCommand('publishMessage', { numberOfKeys: 3, lua: PUBLISH_SCRIPT });
    this.#reader = new Redis(options.url, { ...common, connectionName: 'realtime-lab-reader' });
    for (const client of [this.#commands, this.#reader]) {
      // ioredis emits 'error' on every failed reconnect; the outage is said once.
      client.on('error', (error: Error) => this.#noteOutage(`${redact(this.#url)} unreachable: ${error.message}`));
    }
    // A fresh connection may reach another server (a failover) with another clock: its
    // readings start over, at once rather than at the next tick.
    this.#commands.on('ready', () => {
      this.#clockReadings.length = 0;
      void this.#probe();
    });
  }

  /**
   * Connects and loads the history before it resolves, so a node starts with what the
   * others have. When Redis does not answer within `connectWaitMs`, it resolves anyway:
   * the node serves unhealthy and catches up when Redis comes.
   */
  static async open(options: RedisFeedOptions): Promise<RedisFeed> {
    const feed = new RedisFeed(options);
    const loaded = new Promise<void>((resolve) => {
      feed.#following = feed.#follow(resolve);
    });
    for (const client of [feed.#commands, feed.#reader]) client.connect().catch(() => {});
    const timer = new Promise((resolve) => setTimeout(resolve, options.connectWaitMs ?? 3000).unref());
    await Promise.race([Promise.all([loaded, feed.#clockKnown]), timer]);
    feed.#probeTimer = setInterval(() => {
      feed.#watch();
      void feed.#probe();
    }, PROBE_INTERVAL_MS);
    feed.#probeTimer.unref();
    return feed;
  }

  get epoch(): string {
    return this.#history.epoch;
  }

  get lastId(): number {
    return this.#history.lastId;
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /**
   * Stores a message. A 503 is final: nothing stores the message after the publisher got
   * it. `FeedUnavailable` means it was not stored; `PublishUnconfirmed` means Redis did not
   * answer within PUBLISH_DEADLINE_MS: it was stored only if Redis ran the script before
   * then (and then it is already in the stream), never later.
   */
  async publish(input: PublishInput): Promise<Message> {
    if (this.#closed) throw new FeedUnavailable('the server is shutting down');
    const health = this.health();
    // Known not to answer: refused before anything is sent, so certainly not stored.
    if (!health.ok) throw new FeedUnavailable(health.reason ?? `${redact(this.#url)} is unreachable`);
    const ts = preciseNow();
    const redisClockAhead = this.#redisClockAhead(ts);
    // Just reconnected, before the first probe's answer: a few milliseconds at most.
    if (redisClockAhead === undefined) throw new FeedUnavailable(`${redact(this.#url)} has not told its clock yet`);
    const answerBy = ts + PUBLISH_DEADLINE_MS;
    const deadline = answerBy + redisClockAhead;
    const offered = this.#epochIfNone;
    const stored = this.#commands
      .publishMessage(
        this.#counterKey,
        this.#streamKey,
        this.#epochKey,
        this.#historySize,
        String(ts),
        input.author,
        input.text,
        deadline.toFixed(3),
        offered,
      )
      .then(
        (answer) => {
          this.#lastAnswerAt = preciseNow();
          return answer === 0 ? { id: 0, epoch: '' } : { id: Number(answer[0]), epoch: String(answer[1]) };
        },
        (error: Error) => {
          this.#dropIfTimedOut(this.#commands, error);
          if (error.name === 'ReplyError') this.#lastAnswerAt = preciseNow();
          return { error };
        },
      );
    const late = waitUntil(answerBy);
    let outcome = await Promise.race([stored, late.reached]);
    if (outcome !== 'late' && 'error' in outcome && outcome.error.name !== 'ReplyError' && !notSent(outcome.error)) {
      // The connection broke after the script was sent: Redis may still run it until the
      // deadline, so the answer waits for the deadline, after which nothing can store it.
      outcome = await late.reached;
    }
    late.cancel();
    if (outcome === 'late') {
      // Told 503 now; should Redis have run it in time after all, say so where an operator looks.
      void stored.then((late) => {
        if ('id' in late && late.id > 0)
          this.#log(`realtime-lab: a publish answered 503 (unconfirmed) had been stored as #${late.id}`);
      });
      throw new PublishUnconfirmed(PUBLISH_DEADLINE_MS, `${redact(this.#url)} did not answer`);
    }
    if ('error' in outcome) {
      // Redis answered with an error (the script did not store it), or it was never sent.
      throw new FeedUnavailable(`${redact(this.#url)} did not store the message: ${outcome.error.message}`);
    }
    if (outcome.id === 0)
      throw new FeedUnavailable(`${redact(this.#url)} ran the publish after its deadline and did not store it`);
    const { id, epoch } = outcome;
    // Redis took the offered name for a new feed: offer a fresh one next time.
    if (epoch === offered) this.#epochIfNone = newEpoch();
    // Read your own writes: once the publisher has its id, this node serves the message.
    await this.#echo(id, epoch);
    return { id, ts, author: input.author, text: input.text };
  }

  async since(cursor: number | undefined, epoch?: string): Promise<Batch> {
    // No cursor means live from the newest message this node holds, as on one node: what
    // is published once the client is connected reaches it.
    if (cursor === undefined) return this.#history.since(cursor);
    const ofThisFeed = epoch === undefined || epoch === this.#history.epoch;
    if (ofThisFeed && cursor <= this.#history.lastId) return this.#history.since(cursor, epoch);
    // Ahead of this node, or of another epoch: only Redis can tell whether this node lags
    // (another node has served that cursor, or seen the new feed, already) or the
    // client's feed is gone. Asked whenever Redis answers, even while this node's reader
    // lags or reconnects: that is when a cursor can be ahead of the mirror.
    if (this.#answering()) {
      try {
        return await this.#sinceInRedis(cursor, epoch);
      } catch (error) {
        this.#dropIfTimedOut(this.#commands, error as Error);
        // Answered as if Redis were away.
      }
    }
    // Redis is away, so this node cannot tell a client of a feed that is gone from one of a
    // newer feed that another node has already served (Redis came back empty while this
    // node was cut off): a reset to this node's epoch would send the second back to a dead
    // feed, and behind a round-robin proxy the two nodes would reset it in turn for as long
    // as the outage lasts. Nothing newer is known here: the client keeps its cursor and
    // asks again, and a cursor of a dead feed gets its reset once Redis answers. The same
    // holds for a cursor of this node's epoch ahead of what it has read.
    return { epoch: epoch ?? this.#history.epoch, cursor, messages: [] };
  }

  subscribe(subscriber: FeedSubscriber): void {
    this.#listeners.add(subscriber);
  }

  unsubscribe(subscriber: FeedSubscriber): void {
    this.#listeners.delete(subscriber);
  }

  /** Whether the commands connection is up and Redis has answered it lately: worth asking. */
  #answering(): boolean {
    return (
      !this.#closed && this.#commands.status === 'ready' && preciseNow() - this.#lastAnswerAt <= REDIS_SILENCE_LIMIT_MS
    );
  }

  health(): FeedHealth {
    if (this.#closed) return { ok: false, reason: 'closed' };
    if (this.#commands.status !== 'ready')
      return { ok: false, reason: `${redact(this.#url)} is unreachable (${this.#commands.status})` };
    const silentMs = preciseNow() - this.#lastAnswerAt;
    if (silentMs > REDIS_SILENCE_LIMIT_MS) {
      const since = Number.isFinite(silentMs) ? `nothing for ${Math.round(silentMs)} ms` : 'no answer yet';
      return { ok: false, reason: `${redact(this.#url)} is not answering (${since})` };
    }
    if (this.#readerError !== undefined)
      return { ok: false, reason: `cannot read the stream from ${redact(this.#url)}: ${this.#readerError}` };
    return { ok: true };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#probeTimer);
    for (const { release } of this.#echoes.values()) release();
    // disconnect() rejects the blocked XREAD at once, which ends the read loop.
    this.#reader.disconnect();
    this.#commands.disconnect();
    await this.#following;
  }

  async #sinceInRedis(cursor: number, cursorEpoch: string | undefined): Promise<Batch> {
    const { epoch, counter } = await this.#feedInRedis(this.#commands);
    // Of another feed, or ahead of this one: the client saw a feed that is gone. All of
    // this one follows.
    const gone = cursor > counter || (cursorEpoch !== undefined && cursorEpoch !== epoch);
    const from = gone ? '-' : `${cursor + 1}-0`;
    const entries = (await this.#commands.xrange(
      this.#streamKey,
      from,
      '+',
      'COUNT',
      this.#historySize,
    )) as StreamEntry[];
    const messages = entries.filter((entry) => (entryEpoch(entry) ?? epoch) === epoch).map(toMessage);
    return batchFrom(messages, Math.max(counter, messages.at(-1)?.id ?? 0), epoch, cursor, cursorEpoch);
  }

  /**
   * The epoch and id counter Redis holds now, read together; an epoch is created (SET NX)
   * when there is none, so every feed has one from its first reader on.
   */
  async #feedInRedis(connection: Redis): Promise<{ epoch: string; counter: number }> {
    const offered = this.#epochIfNone;
    const replies = await connection
      .multi()
      .set(this.#epochKey, offered, 'NX')
      .get(this.#epochKey)
      .get(this.#counterKey)
      .exec();
    const failed = replies?.find(([error]) => error);
    if (!replies || failed) throw failed?.[0] ?? new Error('the transaction was discarded');
    const epoch = replies[1]?.[1];
    // It is written into every stream's `id:` lines and answers: only a real epoch will do.
    if (!isEpoch(epoch))
      throw new Error(
        `${this.#epochKey} holds ${JSON.stringify(epoch)}, which is not an epoch: delete the key to start a new feed`,
      );
    if (epoch === offered) this.#epochIfNone = newEpoch();
    return { epoch, counter: Number(replies[2]?.[1] ?? 0) };
  }

  /**
   * The heartbeat: one TIME at a time on the commands connection. Its answer proves Redis
   * answers, and gives Redis's clock for the publish deadlines.
   */
  async #probe(): Promise<void> {
    if (this.#probing || this.#closed || this.#commands.status !== 'ready') return;
    this.#probing = true;
    try {
      const [seconds, micros] = await this.#commands.time();
      const answeredAt = preciseNow();
      this.#lastAnswerAt = answeredAt;
      this.#clockReadings.push({ ahead: Number(seconds) * 1000 + Number(micros) / 1000 - answeredAt, at: answeredAt });
      if (this.#clockReadings.length > CLOCK_READINGS_KEPT) this.#clockReadings.shift();
      this.#onClockKnown();
    } catch (error) {
      // The silence shows in health().
      this.#dropIfTimedOut(this.#commands, error as Error);
    } finally {
      this.#probing = false;
    }
  }

  /**
   * Redis's clock minus this process's at `now`, ms, never more than the truth, so a
   * deadline shifted by it is never later on Redis's clock than on this node's. The
   * tightest recent reading: one whose answer was held up (a stall) is merely looser, and
   * must not push every publish's deadline into the past. Each is loosened by how far the
   * two clocks may have drifted apart since it was taken.
   */
  #redisClockAhead(now: number): number | undefined {
    let tightest: number | undefined;
    for (const { ahead, at } of this.#clockReadings) {
      const bound = ahead - CLOCK_DRIFT_PER_MS * (now - at);
      if (tightest === undefined || bound > tightest) tightest = bound;
    }
    return tightest;
  }

  /** Logs the outage once and the recovery once, whatever the connections go through in between. */
  #watch(): void {
    const health = this.health();
    if (!health.ok) this.#noteOutage(health.reason ?? 'unhealthy');
    else if (this.#outage !== undefined) {
      this.#outage = undefined;
      if (!this.#closed) this.#log(`realtime-lab: ${redact(this.#url)} is back`);
    }
  }

  #noteOutage(reason: string): void {
    if (this.#outage === undefined && !this.#closed) this.#log(`realtime-lab: ${reason}; retrying`);
    this.#outage ??= reason;
  }

  /**
   * A command Redis did not answer in time leaves its connection in doubt: anything sent
   * next would queue behind it. The connection is dropped and opened again (ioredis
   * destroys it after its disconnectTimeout if Redis does not close its side).
   */
  #dropIfTimedOut(client: Redis, error: Error): void {
    if (error.message === 'Command timed out' && !this.#closed) client.disconnect(true);
  }

  /**
   * The read loop: one blocking XREAD at a time into the mirror, and each new message to
   * this node's listeners. After any failure it checks, before reading on, whether Redis
   * still has the feed it was following. Every command has ANSWER_TIMEOUT_MS to answer,
   * so a Redis that stops answering shows as a reader error, never as a loop stuck forever.
   */
  async #follow(loaded: () => void): Promise<void> {
    let resync = true;
    let failures = 0;
    // Until the history is in, reads do not block: an empty stream must not hold the start.
    let loading = true;
    while (!this.#closed) {
      try {
        if (resync) {
          await this.#resync();
          resync = false;
          this.#readerError = undefined;
        }
        const reply = loading
          ? await this.#reader.xread('COUNT', READ_COUNT, 'STREAMS', this.#streamKey, this.#readFrom)
          : await this.#reader.xread(
              'COUNT',
              READ_COUNT,
              'BLOCK',
              READ_BLOCK_MS,
              'STREAMS',
              this.#streamKey,
              this.#readFrom,
            );
        const entries: StreamEntry[] = reply?.[0]?.[1] ?? [];
        for (const entry of entries) {
          const foreign = this.#take(entry);
          // The rest of this read is stale when the entry showed that Redis holds another feed.
          if (foreign !== undefined && (await this.#foreign(entry, foreign))) break;
        }
        // A quiet second: check the feed is still the one followed (cheap: one MULTI of
        // SET NX and two GETs).
        if (!loading && entries.length === 0) resync = true;
        this.#readerError = undefined;
        failures = 0;
        if (loading && entries.length < READ_COUNT) {
          loading = false;
          loaded();
        }
      } catch (error) {
        if (this.#closed) break;
        this.#readerError = (error as Error).message;
        this.#dropIfTimedOut(this.#reader, error as Error);
        resync = true;
        failures += 1;
        await new Promise((resolve) => setTimeout(resolve, Math.min(50 * failures, 500)));
      }
    }
  }

  /**
   * Checks that Redis still holds the feed this node mirrors. Another epoch means Redis
   * lost the feed (restarted without its data, or the keys were deleted) and a new one
   * began: the mirror is forgotten and read again from the start, and clients of the old
   * epoch get a reset. A counter below what the mirror holds under the same epoch (the
   * epoch key survived what the others did not) means ids will be used again: the feed
   * takes a new epoch (RENEW_EPOCH_SCRIPT), and that is taken the same way. Resolves true
   * when the mirror started over.
   */
  async #resync(): Promise<boolean> {
    let { epoch, counter } = await this.#feedInRedis(this.#reader);
    const had = this.#history.lastId;
    if (epoch === this.#history.epoch && counter >= had) return false;
    if (epoch === this.#history.epoch) {
      // Fewer ids under the same epoch: the epoch key outlived the counter or the stream.
      const renewed = await this.#reader.eval(
        RENEW_EPOCH_SCRIPT,
        3,
        this.#epochKey,
        this.#counterKey,
        this.#streamKey,
        epoch,
        newEpoch(),
      );
      if (!isEpoch(renewed))
        throw new Error(`${this.#epochKey} holds ${JSON.stringify(renewed)}, which is not an epoch`);
      epoch = renewed;
    }
    // At start the mirror holds nothing and the epoch was a stand-in: nothing to report.
    if (had > 0) {
      const what = epoch === this.#history.epoch ? `a feed up to id ${counter}` : `another feed (epoch ${epoch})`;
      this.#log(
        `realtime-lab: ${redact(this.#url)} holds ${what}, this node had epoch ${this.#history.epoch} up to id ${had}: starting over`,
      );
    }
    this.#history.restart(epoch);
    this.#readFrom = '0-0';
    this.#leftoverEpochs.clear();
    // Publishes stored under another epoch will never reach this mirror.
    for (const echo of this.#echoes.values()) if (echo.epoch !== epoch) echo.release();
    return true;
  }

  /**
   * Takes one entry into the mirror. When it was stored under another epoch than the
   * mirror's, takes nothing and returns that epoch (see #foreign).
   */
  #take(entry: StreamEntry): string | undefined {
    // Entries stored before epochs existed carry none: they belong to the feed that has one now.
    const epoch = entryEpoch(entry);
    if (epoch !== undefined && epoch !== this.#history.epoch) return epoch;
    const message = toMessage(entry);
    this.#readFrom = entry[0];
    if (message.id <= this.#history.lastId) return undefined;
    // An id that does not follow the last starts a new run in the mirror: the entries in
    // between were trimmed from the stream while this node was away, and a client whose
    // cursor falls there gets a gap.
    this.#history.append(message);
    this.#listeners.notify(message);
    for (const [id, echo] of this.#echoes) if (id <= message.id && echo.epoch === this.#history.epoch) echo.release();
    return undefined;
  }

  /**
   * An entry of another epoch than the mirror's is either the first of a new feed (Redis
   * lost the old one: its ids may already be past the mirror's, so they cannot tell) or a
   * leftover of an older feed in the same stream (only the epoch key was lost). The epoch
   * key tells which. Resolves true when the mirror started over.
   */
  async #foreign(entry: StreamEntry, epoch: string): Promise<boolean> {
    if (!this.#leftoverEpochs.has(epoch)) {
      if (await this.#resync()) return true;
      this.#leftoverEpochs.add(epoch);
    }
    this.#readFrom = entry[0];
    return false;
  }

  /**
   * Resolves once the mirror holds message `id` of `epoch` (or after OWN_ECHO_WAIT_MS: the
   * reader lags, nothing is lost).
   */
  #echo(id: number, epoch: string): Promise<void> {
    if (this.#history.epoch === epoch && this.#history.lastId >= id) return Promise.resolve();
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        this.#echoes.delete(id);
        resolve();
      };
      const timer = setTimeout(release, OWN_ECHO_WAIT_MS);
      this.#echoes.set(id, { epoch, release });
    });
  }
}

/**
 * Resolves with 'late' once preciseNow() has reached `at`, not before: a timer alone may
 * fire up to a millisecond early, and the publish deadline's promise rests on this clock.
 */
function waitUntil(at: number): { reached: Promise<'late'>; cancel: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<'late'>((resolve) => {
    const check = () => {
      const left = at - preciseNow();
      if (left <= 0) resolve('late');
      else timer = setTimeout(check, Math.ceil(left));
    };
    check();
  });
  return { reached, cancel: () => clearTimeout(timer) };
}

/**
 * ioredis's refusal of a command it did not write, its connection being on the way down
 * (publish() only sends while the status is `ready`): nothing reached Redis.
 */
function notSent(error: Error): boolean {
  return error.message.startsWith("Stream isn't writeable");
}

/** The value of field `name` of a stream entry. */
function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** The epoch an entry was stored under; undefined for entries stored before epochs. */
function entryEpoch([, fields]: StreamEntry): string | undefined {
  return field(fields, 'epoch');
}

function toMessage([entryId, fields]: StreamEntry): Message {
  return {
    id: Number.parseInt(entryId, 10),
    ts: Number(field(fields, 'ts')),
    author: field(fields, 'author') ?? '',
    text: field(fields, 'text') ?? '',
  };
}

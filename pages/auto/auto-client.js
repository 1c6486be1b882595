// A client that falls back, and one that upgrades: it runs the techniques' own page
// clients (/clients/<id>.js, loaded by id as the panels do), one after another or two at a
// time, over ONE cursor shared by every attempt, so a switch loses and repeats nothing:
// each new attempt starts from the last message shown, and a message at or before it is
// dropped whichever attempt brings it. The order and the deadlines are the contract's (/contract/strategies.js).
import { FeedClient } from '../clients/client.js';
import {
  FAILURES_BEFORE_FALLBACK,
  FIRST_ARRIVAL_MS,
  FOLLOW_CHECK_MS,
  fallbackOrder,
  followBoundMs,
  mustFollowHead,
  silenceDeadlineMs,
  upgradePair,
} from '/contract/strategies.js';

/**
 * @import { ControlEvent, Message } from '/contract/feed.js'
 * @import { Technique } from '/contract/techniques.js'
 * @import { Strategy } from '/contract/strategies.js'
 */

/**
 * One try of one technique. `outcome`: `trying` until something arrives, `in use` while it
 * carries the feed, `probing` for the upgrade's WebSocket before it is used, `failed`
 * (`reason` says how), `upgraded away` for the long poll an upgrade replaced, `stopped`.
 * Times are performance.now(), ms.
 * @typedef {object} Attempt
 * @property {Readonly<Technique>} technique
 * @property {'trying' | 'probing' | 'in use' | 'failed' | 'upgraded away' | 'stopped'} outcome
 * @property {string} reason
 * @property {number} startedAt
 * @property {number | undefined} arrivedAt   when the first thing of any kind arrived through it
 * @property {number | undefined} endedAt
 * @property {number} startedServerAt          the server's clock at its start, epoch ms: a message older than this waited for the switch
 */

/**
 * What a strategy cost, for the auto panel and a bench page.
 * @typedef {object} AutoReport
 * @property {Strategy} strategy
 * @property {string | undefined} inUse            the technique id carrying the feed now
 * @property {(Attempt & { bytes: number })[]} attempts  bytes: what the server counted on the wire for this client's requests of that technique, both ways, headers included
 * @property {number | undefined} connectedMs      from start to the first thing arriving through the technique that carried the feed
 * @property {number | undefined} firstMessageMs   from start to the first message shown
 * @property {number} received                      messages shown (each once)
 * @property {number} delayed                       messages published before the attempt that brought them began: they waited for a switch
 * @property {number} lost                          ids skipped between the start's cursor and the newest shown (must be 0)
 * @property {number} duplicates                    messages a second attempt brought again, dropped
 * @property {number} failedBytes                   bytes of the techniques given up (failed attempts), as the server counted them
 */

/**
 * The watch on a streaming attempt in use (performance.now() times, ms).
 * @typedef {object} Follow
 * @property {Attempt} attempt
 * @property {number} lastAt  when it last brought anything, or the head last matched the cursor
 * @property {ReturnType<typeof setTimeout> | undefined} timer
 * @property {{ id: number, epoch: string | undefined, since: number, bound: number } | undefined} owed  the head the server gave, not yet brought
 */

/**
 * @typedef {object} AutoOptions
 * @property {Strategy} strategy
 * @property {readonly Readonly<Technique>[]} techniques  the registry
 * @property {string} clientId          this client's own id: its blocks and its figures on the server are its alone
 * @property {string} [baseUrl]
 * @property {() => number} [serverNow] the server's clock, epoch ms (for `delayed`); Date.now by default
 * @property {(message: Message, via: Readonly<Technique>) => void} [onMessage]  `via`: the technique that brought it
 * @property {() => void} [onChange]    an attempt began, arrived, failed or took over
 */

export class AutoClient {
  /** @type {Attempt[]} */
  attempts = [];
  /** @type {Readonly<Technique> | undefined} */
  inUse = undefined;
  /** The one cursor: the id of the last message shown, and the epoch it counts in. */
  cursor = /** @type {number | undefined} */ (undefined);
  epoch = /** @type {string | undefined} */ (undefined);
  received = 0;
  delayed = 0;
  lost = 0;
  duplicates = 0;
  startedAt = 0;
  connectedAt = /** @type {number | undefined} */ (undefined);
  firstMessageAt = /** @type {number | undefined} */ (undefined);
  /** The running clients, by attempt. @type {Map<Attempt, { client: FeedClient, timer: ReturnType<typeof setTimeout> | undefined }>} */
  #running = new Map();
  #stopped = false;
  /** The upgrade's probe, until it starts. @type {(() => void) | undefined} */
  #probe = undefined;
  #probeTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
  /**
   * The watch on the streaming attempt in use: when it last brought anything, and the
   * head it owes once the server said the feed is past the cursor.
   * @type {Follow | undefined}
   */
  #follow = undefined;

  /** @param {AutoOptions} options */
  constructor(options) {
    this.options = options;
    this.strategy = options.strategy;
    this.baseUrl = options.baseUrl ?? location.origin;
    this.order = fallbackOrder(options.techniques);
  }

  /** Starts from the feed's head now (so that what follows is all owed, whichever attempt brings it). */
  async start() {
    this.startedAt = performance.now();
    // /api/health's epoch and lastId are a cursor for "from now on".
    const head = await this.#get('/api/health');
    this.epoch = head.epoch;
    this.cursor = head.lastId;
    if (this.#stopped) return;
    if (this.strategy === 'upgrade') {
      const { start, target } = upgradePair(this.options.techniques);
      this.#probe = () => {
        this.#probe = undefined;
        clearTimeout(this.#probeTimer);
        this.#try(target, 'probing');
      };
      // As Engine.IO does, the probe follows the long poll's first answer; on a quiet feed,
      // whose first answer waits for a message, after the deadline a stream gets instead.
      this.#probeTimer = setTimeout(() => this.#probe?.(), FIRST_ARRIVAL_MS);
      await this.#try(start, 'trying');
    } else await this.#try(this.order[0], 'trying');
  }

  stop() {
    this.#stopped = true;
    clearTimeout(this.#probeTimer);
    this.#unfollow();
    for (const attempt of [...this.#running.keys()]) this.#end(attempt, 'stopped', '');
  }

  /** What the strategy cost so far, with the server's byte counts for this client. @returns {Promise<AutoReport>} */
  async report() {
    const stats = await this.#get(`/api/stats?client=${this.options.clientId}`);
    /** @param {string} id */
    const bytesOf = (id) => {
      const counters = stats.techniques[id];
      if (!counters) return 0;
      return counters.bytesIn.headers + counters.bytesIn.body + counters.bytesOut.headers + counters.bytesOut.body;
    };
    const given = new Set(this.attempts.filter((a) => a.outcome === 'failed').map((a) => a.technique.id));
    if (this.inUse) given.delete(this.inUse.id);
    const since = (/** @type {number | undefined} */ at) => (at === undefined ? undefined : at - this.startedAt);
    return {
      strategy: this.strategy,
      inUse: this.inUse?.id,
      attempts: this.attempts.map((attempt) => ({ ...attempt, bytes: bytesOf(attempt.technique.id) })),
      connectedMs: since(this.connectedAt),
      firstMessageMs: since(this.firstMessageAt),
      received: this.received,
      delayed: this.delayed,
      lost: this.lost,
      duplicates: this.duplicates,
      failedBytes: [...given].reduce((sum, id) => sum + bytesOf(id), 0),
    };
  }

  /** @param {string} path */
  async #get(path) {
    const response = await fetch(new URL(path, this.baseUrl), { cache: 'no-store' });
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
    return response.json();
  }

  /**
   * Starts an attempt at `technique` from the shared cursor.
   * @param {Readonly<Technique> | undefined} technique @param {'trying' | 'probing'} outcome
   */
  async #try(technique, outcome) {
    if (!technique || this.#stopped) return;
    const module = await import(`/clients/${technique.id}.js`);
    if (!(module.Client?.prototype instanceof FeedClient))
      throw new Error(`/clients/${technique.id}.js exports no Client`);
    /** @type {Attempt} */
    const attempt = {
      technique,
      outcome,
      reason: '',
      startedAt: performance.now(),
      arrivedAt: undefined,
      endedAt: undefined,
      startedServerAt: (this.options.serverNow ?? Date.now)(),
    };
    this.attempts.push(attempt);
    const client = this.#watched(module.Client, attempt);
    client.epoch = this.epoch;
    const timer = setTimeout(() => {
      if (attempt.arrivedAt === undefined)
        this.#fail(attempt, `nothing arrived in ${silenceDeadlineMs(technique) / 1000} s (held by the network?)`);
    }, silenceDeadlineMs(technique));
    this.#running.set(attempt, { client, timer });
    client.open(this.cursor);
    this.options.onChange?.();
  }

  /**
   * The technique's own client, watched: anything arriving proves the attempt, and
   * FAILURES_BEFORE_FALLBACK failed connections in a row end it.
   * @param {typeof FeedClient} Client @param {Attempt} attempt
   */
  #watched(Client, attempt) {
    const auto = this;
    let failures = 0;
    class Watched extends Client {
      opened() {
        failures = 0;
        auto.#arrived(attempt);
        super.opened();
      }
      /** @param {import('/contract/feed.js').FeedItem} item */
      receiveItem(item) {
        auto.#arrived(attempt);
        super.receiveItem(item);
      }
      /** @param {Message} message */
      receive(message) {
        auto.#arrived(attempt);
        super.receive(message);
      }
      /** @param {import('/contract/formats/poll.js').PollAnswer} answer */
      receiveBatch(answer) {
        auto.#arrived(attempt);
        super.receiveBatch(answer);
      }
      /** @param {ControlEvent} event */
      control(event) {
        auto.#arrived(attempt);
        super.control(event);
      }
      retry() {
        failures += 1;
        if (failures >= FAILURES_BEFORE_FALLBACK)
          auto.#fail(
            attempt,
            `${failures} connections failed in a row; the last: ${attempt.reason || 'no reason given'}`,
          );
        else super.retry();
      }
    }
    return new Watched({
      technique: attempt.technique,
      clientId: this.options.clientId,
      baseUrl: this.baseUrl,
      onMessage: (message) => this.#deliver(message, attempt),
      onEvent: (event) => this.#control(event),
      onLog: (line) => {
        if (attempt.outcome !== 'failed') attempt.reason = line;
      },
    });
  }

  /** @param {Attempt} attempt */
  #arrived(attempt) {
    if (this.#follow?.attempt === attempt) this.#follow.lastAt = performance.now();
    if (attempt.arrivedAt !== undefined || !this.#running.has(attempt)) return;
    attempt.arrivedAt = performance.now();
    clearTimeout(this.#running.get(attempt)?.timer);
    if (attempt.outcome === 'trying') {
      this.#use(attempt);
      this.#probe?.();
    } else if (attempt.outcome === 'probing') {
      // The probe works: it already follows the feed from the shared cursor, so the long
      // poll can go; a message both bring is shown once.
      for (const other of [...this.#running.keys()]) if (other !== attempt) this.#end(other, 'upgraded away', '');
      this.#use(attempt);
    }
    this.options.onChange?.();
  }

  /** @param {Attempt} attempt */
  #use(attempt) {
    attempt.outcome = 'in use';
    attempt.reason = '';
    this.inUse = attempt.technique;
    this.connectedAt ??= attempt.arrivedAt;
    this.#followHead(attempt);
  }

  /**
   * Watches a streaming attempt in use for a buffering intermediary, which the first
   * arrival cannot rule out: on a busy feed its first lump comes before any deadline, and
   * once publishing stops the tail stays held. After FOLLOW_CHECK_MS with nothing
   * through it, the client reads the feed's head; if the head is past the cursor and the
   * attempt has not brought it within followBoundMs, the attempt fails, and the next one
   * starts from the cursor, bringing what was held.
   * @param {Attempt} attempt
   */
  #followHead(attempt) {
    this.#unfollow();
    if (!mustFollowHead(attempt.technique)) return;
    /** @type {Follow} */
    const follow = { attempt, lastAt: performance.now(), timer: undefined, owed: undefined };
    this.#follow = follow;
    const watching = () => this.#follow === follow && this.#running.has(attempt);
    /** @param {number} ms */
    const again = (ms) => {
      if (watching()) follow.timer = setTimeout(check, Math.max(0, ms));
    };
    const check = async () => {
      if (!watching()) return;
      const now = performance.now();
      const { owed } = follow;
      if (owed) {
        if (owed.epoch !== this.epoch || (this.cursor ?? 0) >= owed.id) follow.owed = undefined;
        else if (now - owed.since >= owed.bound)
          return this.#fail(
            attempt,
            `the feed was at #${owed.id} ${((now - owed.since) / 1000).toFixed(1)} s ago and this brought only up to #${this.cursor}: held by the network (a buffering proxy?)`,
          );
        else return again(owed.since + owed.bound - now);
      }
      if (now - follow.lastAt < FOLLOW_CHECK_MS) return again(follow.lastAt + FOLLOW_CHECK_MS - now);
      const sent = performance.now();
      /** @type {{ epoch: string, lastId: number }} */
      let head;
      try {
        head = await this.#get('/api/health');
      } catch {
        // The server is away: the attempt's own failed connections will say so.
        return again(FOLLOW_CHECK_MS);
      }
      const answered = performance.now();
      if (head.epoch === this.epoch && head.lastId > (this.cursor ?? 0)) {
        follow.owed = { id: head.lastId, epoch: head.epoch, since: answered, bound: followBoundMs(answered - sent) };
        return again(follow.owed.bound);
      }
      follow.lastAt = answered;
      again(FOLLOW_CHECK_MS);
    };
    again(FOLLOW_CHECK_MS);
  }

  #unfollow() {
    clearTimeout(this.#follow?.timer);
    this.#follow = undefined;
  }

  /** @param {Message} message @param {Attempt} attempt */
  #deliver(message, attempt) {
    if (this.cursor !== undefined && message.id <= this.cursor) {
      this.duplicates += 1;
      return;
    }
    if (this.cursor !== undefined) this.lost += message.id - this.cursor - 1;
    this.cursor = message.id;
    this.received += 1;
    this.firstMessageAt ??= performance.now();
    if (attempt !== this.attempts[0] && message.ts < attempt.startedServerAt) this.delayed += 1;
    this.options.onMessage?.(message, attempt.technique);
  }

  /** @param {ControlEvent} event */
  #control(event) {
    if (event.type === 'reset') {
      // Another feed: its ids say nothing of the old one's (see FeedClient.control).
      this.epoch = event.epoch;
      this.cursor = 0;
    }
    if (event.type === 'gap') this.lost += event.missed;
  }

  /** @param {Attempt} attempt @param {string} reason */
  #fail(attempt, reason) {
    if (!this.#running.has(attempt)) return;
    const wasInUse = attempt.outcome === 'in use';
    const wasProbe = attempt.outcome === 'probing';
    this.#end(attempt, 'failed', reason);
    if (this.inUse === attempt.technique && wasInUse) this.inUse = undefined;
    // A failed probe leaves the long poll carrying the feed: the upgrade just does not happen.
    if (wasProbe) return this.options.onChange?.();
    const index = this.order.indexOf(attempt.technique);
    // Past the last, start again from the best: the network may have changed.
    const next = this.order[(index + 1) % this.order.length];
    this.#try(next, 'trying');
  }

  /** @param {Attempt} attempt @param {Attempt['outcome']} outcome @param {string} reason */
  #end(attempt, outcome, reason) {
    const running = this.#running.get(attempt);
    if (!running) return;
    this.#running.delete(attempt);
    clearTimeout(running.timer);
    if (this.#follow?.attempt === attempt) this.#unfollow();
    attempt.outcome = outcome;
    attempt.reason = reason;
    attempt.endedAt = performance.now();
    running.client.close();
    this.options.onChange?.();
  }
}

/**
 * Runs `strategy` as a fresh client under `clientId` and resolves once it has started:
 * what a bench page needs. Call `report()` for its attempts, time to first message,
 * delayed and lost messages and the bytes of failed attempts; `stop()` to end it.
 * @param {AutoOptions} options
 */
export async function runStrategy(options) {
  const client = new AutoClient(options);
  await client.start();
  return client;
}

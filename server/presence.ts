/**
 * Who is in the chat: a registry of chatters keyed by client id, nickname and technique,
 * alive while one of their requests or connections is open and for a grace period after
 * the last one ended (a poller between polls). Joining and leaving are announced in the
 * feed as messages of SYSTEM_AUTHOR, so every technique carries them with no new wire
 * format, in order with the talk, replayed with the history, and across nodes on Redis.
 */
import { SYSTEM_AUTHOR } from './contract/feed.js';
import { BadPublish } from './errors.ts';
import type { Feed } from './feed.ts';
import { addressKey } from './limits.ts';
import { checkPublish } from './message.ts';
import type { SharedPresence } from './redis-presence.ts';

/** One chatter as `GET /api/presence` lists it. */
export interface Chatter {
  nick: string;
  technique: string;
  /** Requests or connections open now. */
  open: number;
  /** Epoch ms of the last request's end, or of the join while one is open. */
  lastSeen: number;
}

/** One chatter noticed gone, as `GET /api/presence` lists it for a while after. */
export interface Departure {
  nick: string;
  technique: string;
  /** Epoch ms it was noticed gone. */
  at: number;
  /** How long it had been silent when noticed gone, ms: the time it took to notice. */
  quietMs: number;
}

interface Entry extends Chatter {
  client: string;
  /** The address it joined from, as the publish limit keys it (an IPv6 /64). */
  address: string;
}

/** How many chatters one node keeps, so that inventing ids and nicknames cannot grow it without end. */
export interface PresenceCaps {
  /** Chatters this node keeps, every address together. */
  maxChatters: number;
  /** Chatters this node keeps from one address (an IPv6 /64). */
  maxChattersPerAddress: number;
}

/** Why a join was not announced, as `enter` answers it. */
export type JoinRefusal = 'registry full' | 'address full' | 'rate limited';

function publicPart({ nick, technique, open, lastSeen }: Chatter): Chatter {
  return { nick, technique, open, lastSeen };
}

/** How often the registry looks for chatters gone quiet, ms. */
const SWEEP_MS = 250;
/** How often a node writes its chatters to the shared presence, ms. */
const SHARE_EVERY_MS = 1000;
/** How long a shared entry is trusted past the owner's grace without being written again, ms. */
const SHARED_SLACK_MS = 3000;
/** How long a departure stays listed, ms: long enough for a page polling every second to show it. */
const DEPARTURES_KEPT_MS = 60_000;

/**
 * The `nick` query parameter: the name a chatter is known by, checked like a message's
 * author. Undefined when absent (the bench and the technique pages are not in the chat).
 */
export function nickOf(query: unknown): string | undefined {
  const raw = (query as Record<string, unknown> | undefined)?.nick;
  if (raw === undefined) return undefined;
  const checked = checkPublish({ author: raw, text: '-' }, { maxTextBytes: 1 });
  if (!checked.ok) throw new BadPublish(`nick: ${checked.message.replace('"author"', 'the nickname')}`);
  return checked.value.author;
}

/** The chatters this node serves, and the announcements of their comings and goings. */
export class Presence {
  readonly #entries = new Map<string, Entry>();
  readonly #perAddress = new Map<string, number>();
  readonly #caps: PresenceCaps;
  #departures: Departure[] = [];
  readonly #feed: Feed;
  /** How long a chatter stays online after its last request or connection ended, ms. */
  readonly graceMs: number;
  readonly #sweeper: NodeJS.Timeout;
  readonly #shared: SharedPresence | undefined;
  /** Tells this node's entries apart from other nodes' in the shared presence. */
  readonly #node = Math.random().toString(36).slice(2, 10);
  #lastShared = 0;

  /**
   * `caps`: how many chatters this node keeps (and so writes to the shared presence);
   * `shared`: where the nodes of one feed list who is online (Redis); this node alone without it.
   */
  constructor(feed: Feed, graceMs: number, caps: PresenceCaps, shared?: SharedPresence) {
    this.#feed = feed;
    this.#caps = caps;
    this.graceMs = graceMs;
    this.#shared = shared;
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /**
   * A request or connection of `client`, known as `nick`, from `address`, opened on
   * `technique`. A new chatter is registered and announced only if the registry has room
   * (PresenceCaps) and `mayAnnounce` says yes: it is asked only for a new chatter, since
   * its announcement is a message in the feed (the publish limit). Returns the call to
   * make when the request ends, or why the chatter was not registered: the request is
   * still served, unlisted.
   */
  enter(
    client: string,
    nick: string,
    technique: string,
    address: string | undefined,
    mayAnnounce: () => boolean,
  ): (() => void) | JoinRefusal {
    const key = JSON.stringify([client, nick, technique]);
    let entry = this.#entries.get(key);
    if (!entry) {
      const from = addressKey(address);
      const fromThere = this.#perAddress.get(from) ?? 0;
      // The caps first: a join refused for room spends none of the address's publishes.
      if (this.#entries.size >= this.#caps.maxChatters) return 'registry full';
      if (fromThere >= this.#caps.maxChattersPerAddress) return 'address full';
      if (!mayAnnounce()) return 'rate limited';
      entry = { client, nick, technique, address: from, open: 0, lastSeen: Date.now() };
      this.#entries.set(key, entry);
      this.#perAddress.set(from, fromThere + 1);
      this.#share(new Map([[key, entry]]));
      this.#announce(`${nick} joined (${technique})`);
    }
    const chatter = entry;
    chatter.open += 1;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      chatter.open -= 1;
      chatter.lastSeen = Date.now();
    };
  }

  /** Chatters this node keeps now (what the caps bound). */
  get size(): number {
    return this.#entries.size;
  }

  /** Everyone online: on every node when shared, and on this one when Redis does not answer. */
  async list(): Promise<Chatter[]> {
    if (this.#shared) {
      try {
        return await this.#shared.readAll();
      } catch {
        // Redis is away: this node's own are still true.
      }
    }
    return [...this.#entries.values()].map(publicPart);
  }

  /** Those noticed gone in the last minute, oldest first. */
  departures(): Departure[] {
    return [...this.#departures];
  }

  /** Stops sweeping (nobody is announced as gone after it) and takes this node's chatters off the shared list. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    if (!this.#shared) return;
    await this.#shared.remove([...this.#entries.keys()].map((key) => this.#field(key))).catch(() => {});
    await this.#shared.close();
  }

  #field(key: string): string {
    return `${this.#node}:${key}`;
  }

  #share(entries: ReadonlyMap<string, Entry>): void {
    if (!this.#shared) return;
    const chatters = new Map([...entries].map(([key, entry]) => [this.#field(key), publicPart(entry)]));
    this.#shared.write(chatters, Date.now() + this.graceMs + SHARED_SLACK_MS).catch(() => {});
  }

  #sweep(): void {
    const now = Date.now();
    const gone: string[] = [];
    this.#departures = this.#departures.filter((departure) => now - departure.at < DEPARTURES_KEPT_MS);
    for (const [key, entry] of this.#entries) {
      if (entry.open > 0 || now - entry.lastSeen < this.graceMs) continue;
      this.#entries.delete(key);
      const fromThere = (this.#perAddress.get(entry.address) ?? 1) - 1;
      if (fromThere > 0) this.#perAddress.set(entry.address, fromThere);
      else this.#perAddress.delete(entry.address);
      gone.push(this.#field(key));
      this.#departures.push({ nick: entry.nick, technique: entry.technique, at: now, quietMs: now - entry.lastSeen });
      const quiet = ((now - entry.lastSeen) / 1000).toFixed(1);
      this.#announce(`${entry.nick} left (${entry.technique}): not seen for ${quiet} s`);
    }
    if (gone.length > 0) this.#shared?.remove(gone).catch(() => {});
    if (now - this.#lastShared >= SHARE_EVERY_MS) {
      this.#lastShared = now;
      this.#share(this.#entries);
    }
  }

  #announce(text: string): void {
    // A feed that cannot take it (Redis away) loses the announcement, not the chatter.
    this.#feed.publish({ author: SYSTEM_AUTHOR, text }).catch(() => {});
  }
}

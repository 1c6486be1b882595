/**
 * The classroom view: who is connected now, by technique and by node, with what each
 * page's clients cost (requests, bytes, their rates) and the delay each page measured,
 * for the teacher's page (`/classroom.html`). The wire meter already counts every
 * request that names `?client=ID`; this keeps which of those ids are here now (a request
 * open, or one within LEAVE_AFTER_MS), the nickname they chat under, and the delay
 * medians their pages report, samples their counters every second, and shares this
 * node's list through Redis like the chat's presence (redis-classroom.ts).
 *
 * What it lists is what any student's page sends anyway: a short tag of the client id
 * (never the whole id, which keys that client's publish limit), the nickname it chose,
 * the node, and the figures. Never an address: the list is public to anyone who can reach
 * the server, and the room's cost does not need to know who sits where.
 */
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { PRESENCE_GRACE_MS } from './contract/defaults.js';
import { BadClassroomReport, ClassroomReportTooSoon } from './errors.ts';
import { requestHook } from './plugins/sync-hooks.ts';
import { clientOf } from './plugins/wire-meter.ts';
import { nickOf } from './presence.ts';
import type { SharedClassroom } from './redis-classroom.ts';
import { MAX_CLIENTS, type WireCounters, type WireMeter } from './wire.ts';

/** How long a client with nothing open stays listed after its last request ended, ms: the chat's grace, which outlasts the slowest poll interval the page offers (5 s). */
export const LEAVE_AFTER_MS = PRESENCE_GRACE_MS;
/** How often each node samples its clients' counters (and shares them), ms: the list is this fresh. */
export const SAMPLE_MS = 1000;
/** The window rates are averaged over, ms: a poller asking once a second shows 1/s, not 0 or 2 by the sample's luck. */
export const RATE_WINDOW_MS = 5000;
/** How often one client may report its delays, ms (the pages report every 2 s). */
export const REPORT_EVERY_MS = 1000;
/** How long after the last look at the list this node keeps sampling, ms (always, on Redis: another node may be looked at). */
export const WATCHED_MS = 60_000;
/** Clients one node lists (the most recently active); the rest are counted, not listed. */
export const MAX_LISTED = 200;
/** The largest delay a page may report, ms: beyond it the page's clock is wrong, not the wire. */
export const MAX_REPORTED_DELAY_MS = 600_000;

/** One technique's figures for one client, as `GET /api/classroom` lists them. */
export interface ClassroomFigures {
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** Requests and bytes (in + out) per second over the last RATE_WINDOW_MS (less for a client that just came). */
  requestsPerS: number;
  bytesPerS: number;
  /** Requests or connections open now. */
  open: number;
  /** The median delay the page last reported for this technique, ms; null before it did. */
  delayMs: number | null;
}

/** One client (one page, or one of its extra clients) as `GET /api/classroom` lists it. */
export interface ClassroomClient {
  /** The last four characters of its page's id: enough to tell two guests apart, not to act as one. */
  tag: string;
  /** For a page's extra client (the auto panel's `auto1`), which one; null for the page's own panels. */
  part: string | null;
  nick: string | null;
  node: string;
  /** Per technique id, for the techniques it used. */
  techniques: Record<string, ClassroomFigures>;
}

/** One node's report: its listed clients and how many it left out. */
export interface NodeReport {
  node: string;
  clients: ClassroomClient[];
  unlisted: number;
}

/** Per technique, and for the room: the sums of every listed client. */
export interface ClassroomTotals {
  /** Clients using the technique; for the room, pages (a page's extra clients are not counted again). */
  clients: number;
  requests: number;
  bytes: number;
  requestsPerS: number;
  bytesPerS: number;
  /** The median of the clients' reported delays, ms; null when none reported. */
  delayMs: number | null;
}

/** `GET /api/classroom`. */
export interface ClassroomAnswer {
  /** The node that answered. */
  node: string;
  leaveAfterMs: number;
  sampleMs: number;
  rateWindowMs: number;
  nodes: NodeReport[];
  byTechnique: Record<string, ClassroomTotals>;
  room: ClassroomTotals;
}

interface Seen {
  /**
   * When the client last began a request, or was last sampled with one open (the wire
   * meter's count of its open requests): it leaves the list once that is leaveAfterMs ago.
   */
  lastSeen: number;
  nick: string | null;
  delays: Record<string, number>;
  reportedAt: number;
  /** Per technique, the counters of the samples of the last RATE_WINDOW_MS, oldest first, for rates. */
  samples: Map<string, { at: number; requests: number; bytes: number }[]>;
}

/** The clients this node serves now, their figures, and the room as every node sees it. */
export class Classroom {
  readonly node = `${hostname()}-${Math.random().toString(36).slice(2, 6)}`;
  readonly #wire: WireMeter;
  readonly #techniques: readonly string[];
  readonly #shared: SharedClassroom | undefined;
  /** Per client id; a Map keeps insertion order, oldest first (bounded like the wire meter's). */
  readonly #seen = new Map<string, Seen>();
  #mine: NodeReport;
  #cached: { at: number; nodes: Promise<NodeReport[]> } | null = null;
  readonly #sampler: NodeJS.Timeout;
  #watchedAt = Number.NEGATIVE_INFINITY;
  #sampledAt = Number.NEGATIVE_INFINITY;

  /** How long a client with nothing open stays listed after its last request ended, ms. */
  readonly leaveAfterMs: number;

  /** `leaveAfterMs`: LEAVE_AFTER_MS by default; `shared`: where the nodes of one feed list their clients (Redis). */
  constructor(wire: WireMeter, techniques: readonly string[], leaveAfterMs = LEAVE_AFTER_MS, shared?: SharedClassroom) {
    this.leaveAfterMs = leaveAfterMs;
    this.#wire = wire;
    this.#techniques = techniques;
    this.#shared = shared;
    this.#mine = { node: this.node, clients: [], unlisted: 0 };
    this.#sampler = setInterval(() => this.#sample(), SAMPLE_MS);
    this.#sampler.unref();
  }

  /**
   * A request naming `client` (and maybe a nickname) began. Its end is not watched: the
   * wire meter counts the client's open requests, which each sample reads.
   */
  enter(client: string, nick: string | undefined): void {
    let seen = this.#seen.get(client);
    if (seen) this.#seen.delete(client);
    else {
      if (this.#seen.size >= MAX_CLIENTS) {
        const oldest = this.#seen.keys().next().value;
        if (oldest !== undefined) this.#seen.delete(oldest);
      }
      seen = { lastSeen: 0, nick: null, delays: {}, reportedAt: 0, samples: new Map() };
    }
    this.#seen.set(client, seen);
    if (nick !== undefined) seen.nick = nick;
    seen.lastSeen = Date.now();
  }

  /**
   * The delay medians `client`'s page measured, per technique id, already checked.
   * Throws ClassroomReportTooSoon when it reported less than REPORT_EVERY_MS ago.
   */
  report(client: string, delays: Record<string, number>): void {
    const seen = this.#seen.get(client);
    // Only a client that is here: a report cannot create an entry, so it cannot grow the list.
    if (!seen) throw new BadClassroomReport(`client ${JSON.stringify(client)} has no request open or recent here`);
    const now = Date.now();
    const waitMs = seen.reportedAt + REPORT_EVERY_MS - now;
    if (waitMs > 0) throw new ClassroomReportTooSoon(waitMs);
    seen.reportedAt = now;
    seen.delays = { ...seen.delays, ...delays };
  }

  /** Every node's clients (this node's alone without Redis, or when Redis does not answer), with the totals. */
  async answer(): Promise<ClassroomAnswer> {
    const now = Date.now();
    this.#watchedAt = now;
    if (now - this.#sampledAt >= SAMPLE_MS) this.#sample(now);
    const nodes = await this.#nodes();
    return {
      node: this.node,
      leaveAfterMs: this.leaveAfterMs,
      sampleMs: SAMPLE_MS,
      rateWindowMs: RATE_WINDOW_MS,
      nodes,
      ...totals(nodes),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.#sampler);
    if (!this.#shared) return;
    await this.#shared.remove(this.node).catch(() => {});
    await this.#shared.close();
  }

  /** One read per SAMPLE_MS whoever asks, so that teachers' pages cannot multiply Redis reads. */
  #nodes(): Promise<NodeReport[]> {
    const now = Date.now();
    if (this.#cached && now - this.#cached.at < SAMPLE_MS) return this.#cached.nodes;
    const mine = this.#mine;
    const nodes = this.#shared
      ? this.#shared
          .readAll()
          .then((all) => [mine, ...all.filter((report) => report.node !== mine.node)])
          .catch(() => [mine])
      : Promise.resolve([mine]);
    this.#cached = { at: now, nodes };
    return nodes;
  }

  #sample(now = Date.now()): void {
    // Nobody looking, and nobody else could: no need to count (the bench's server runs this).
    if (!this.#shared && now - this.#watchedAt > WATCHED_MS) return;
    this.#sampledAt = now;
    const here: [string, Seen][] = [];
    for (const [client, seen] of this.#seen) {
      // Still connected: the wire meter counts its open requests. The classroom keeps no
      // listener of its own on each request, which every idle connection would carry
      // (~100 bytes: a bound function, and a 'close' key on a WebSocket).
      if (this.#wire.activeRequestsOf(client) > 0) seen.lastSeen = now;
      if (now - seen.lastSeen > this.leaveAfterMs) this.#seen.delete(client);
      else here.push([client, seen]);
    }
    // The most recently active last in the Map: keep those.
    const listed = here.slice(-MAX_LISTED);
    // A page that has only asked for figures so far used no technique: nothing to list yet.
    const counters = this.#wire.snapshotClients(listed.map(([client]) => client));
    const clients = listed
      .map(([client, seen]) => this.#figures(client, seen, counters.get(client) ?? {}, now))
      .filter((client) => Object.keys(client.techniques).length > 0);
    this.#mine = { node: this.node, clients, unlisted: here.length - listed.length };
    if (this.#shared) this.#shared.write(this.#mine, now + SAMPLE_MS * 3).catch(() => {});
  }

  #figures(client: string, seen: Seen, counters: Record<string, WireCounters>, now: number): ClassroomClient {
    const techniques: Record<string, ClassroomFigures> = {};
    for (const id of this.#techniques) {
      const c = counters[id];
      if (!c || c.httpRequests === 0) continue;
      const bytesIn = c.bytesIn.headers + c.bytesIn.body;
      const bytesOut = c.bytesOut.headers + c.bytesOut.body;
      // Samples older than the window go, and so does a pause in sampling (nobody was looking).
      const samples = (seen.samples.get(id) ?? []).filter((sample) => now - sample.at <= RATE_WINDOW_MS);
      const fresh = samples[0];
      const seconds = fresh ? (now - fresh.at) / 1000 : 0;
      const rate = (delta: number) => (seconds > 0 ? Math.max(0, delta) / seconds : 0);
      techniques[id] = {
        requests: c.httpRequests,
        bytesIn,
        bytesOut,
        requestsPerS: rate(c.httpRequests - (fresh?.requests ?? 0)),
        bytesPerS: rate(bytesIn + bytesOut - (fresh?.bytes ?? 0)),
        open: c.activeRequests,
        delayMs: seen.delays[id] ?? null,
      };
      samples.push({ at: now, requests: c.httpRequests, bytes: bytesIn + bytesOut });
      seen.samples.set(id, samples);
    }
    // A page's extra clients (`<page id>-<part>`, the auto panel's) go under the page's tag and nickname.
    const dash = client.lastIndexOf('-');
    const page = dash > 0 ? this.#seen.get(client.slice(0, dash)) : undefined;
    if (page && seen.nick === null)
      return {
        tag: client.slice(0, dash).slice(-4),
        part: client.slice(dash + 1),
        nick: page.nick,
        node: this.node,
        techniques,
      };
    return { tag: client.slice(-4), part: null, nick: seen.nick, node: this.node, techniques };
  }
}

/** Sums per technique and for the room, over every node's listed clients. */
export function totals(nodes: readonly NodeReport[]): Pick<ClassroomAnswer, 'byTechnique' | 'room'> {
  const byTechnique: Record<string, ClassroomTotals & { delays: number[] }> = {};
  const room = { ...emptyTotals(), delays: [] as number[] };
  for (const { clients } of nodes) {
    for (const client of clients) {
      // The room counts pages (students); a technique counts every client using it.
      if (client.part === null) room.clients += 1;
      for (const [id, figures] of Object.entries(client.techniques)) {
        byTechnique[id] ??= { ...emptyTotals(), delays: [] };
        for (const sum of [byTechnique[id], room]) {
          if (sum !== room) sum.clients += 1;
          sum.requests += figures.requests;
          sum.bytes += figures.bytesIn + figures.bytesOut;
          sum.requestsPerS += figures.requestsPerS;
          sum.bytesPerS += figures.bytesPerS;
          if (figures.delayMs !== null) sum.delays.push(figures.delayMs);
        }
      }
    }
  }
  const close = ({ delays, ...sum }: ClassroomTotals & { delays: number[] }): ClassroomTotals => ({
    ...sum,
    delayMs: median(delays),
  });
  return {
    byTechnique: Object.fromEntries(Object.entries(byTechnique).map(([id, sum]) => [id, close(sum)])),
    room: close(room),
  };
}

function emptyTotals(): ClassroomTotals {
  return { clients: 0, requests: 0, bytes: 0, requestsPerS: 0, bytesPerS: 0, delayMs: null };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? null) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * `body` as a delay report: `{"delays": {"<technique id>": ms, ...}}`, each a registered
 * technique and a finite number from 0 to MAX_REPORTED_DELAY_MS. Throws BadClassroomReport.
 */
export function checkReport(body: unknown, techniques: readonly string[]): Record<string, number> {
  const delays = (body as { delays?: unknown } | null)?.delays;
  if (
    typeof body !== 'object' ||
    body === null ||
    typeof delays !== 'object' ||
    delays === null ||
    Array.isArray(delays)
  )
    throw new BadClassroomReport('the body must be {"delays": {"<technique id>": milliseconds}}');
  const checked: Record<string, number> = {};
  for (const [id, value] of Object.entries(delays)) {
    if (!techniques.includes(id))
      throw new BadClassroomReport(`no technique ${JSON.stringify(id)}; the techniques are ${techniques.join(', ')}`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_REPORTED_DELAY_MS)
      throw new BadClassroomReport(`${id}: a delay is a number of ms from 0 to ${MAX_REPORTED_DELAY_MS}`);
    checked[id] = value;
  }
  return checked;
}

/**
 * The classroom's hook and routes: every request that names `?client=` is seen (register
 * it before the techniques, so their routes have the hook); `GET /api/classroom` lists the
 * room; `POST /api/classroom/delays?client=ID` takes a page's delay medians.
 */
export async function classroomApi(app: FastifyInstance, classroom: Classroom, techniques: readonly string[]) {
  app.addHook(
    'onRequest',
    requestHook((request) => {
      // The classroom's own calls are not a student's presence: a report cannot make one.
      if (request.url.startsWith('/api/classroom')) return;
      const client = clientOf(request.query);
      if (client === undefined) return;
      const nick = request.routeOptions.config.technique ? nickOf(request.query) : undefined;
      classroom.enter(client, nick);
    }),
  );
  app.get('/api/classroom', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return classroom.answer();
  });
  app.post('/api/classroom/delays', { bodyLimit: 1024 }, async (request, reply) => {
    const client = clientOf(request.query);
    if (client === undefined) throw new BadClassroomReport('name the client: ?client=ID');
    classroom.report(client, checkReport(request.body, techniques));
    return reply.code(204).send();
  });
  app.addHook('onClose', () => classroom.close());
}

/**
 * The protocol comparison (`--http`, `--tls`): each technique over each protocol, with
 * the bench's own clients (followers.ts over session.ts; autocannon speaks HTTP/1.1 only,
 * so every protocol is measured with the same Node clients, node:http and node:http2),
 * every byte counted on the client side, on sockets the bench made: on the wire (TCP) and
 * in plain text (under TLS). The server runs in its own process (CPU and memory from
 * /proc), with TLS=1 and the bench's development certificate when the protocol is TLS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Health } from '../../server/contract/stats.js';
import { certificateFor } from '../../server/tls.ts';
import { DeliveryTracker, type FeedMessage, type LatencySummary, round } from '../delivery.ts';
import { paddedText } from '../publisher.ts';
import { startServerProcess } from '../server-process.ts';
import { type Follower, followerFor } from './followers.ts';
import { type Protocol, type ProtocolPlan, type Sharing, usesTls } from './protocol.ts';
import { type CountedConnection, type Session, type Target, openSession, readAll } from './session.ts';

/** One technique over one protocol, as results.json holds it (`protocols[]`). */
export interface ProtocolResult {
  technique: string;
  /** What the run asked for (`--http`, `--tls`). */
  protocol: Protocol;
  /** What went on the wire: a WebSocket asked for over h2 is an HTTP/1.1 Upgrade over TLS (wss://). */
  wire: Protocol;
  /** One connection per subscriber, or every subscriber a stream of one HTTP/2 session. */
  sharing: Sharing;
  /** The clients that measured: node:http or node:http2 on the bench's own sockets, or ws. */
  client: string;
  clients: number;
  messagesPublished: number;
  messagesExpected: number;
  messagesDelivered: number;
  lost: number;
  duplicates: number;
  /** TCP connections the subscribers held. */
  connections: number;
  requests: number;
  /** While publishing: bytes on the wire (TCP, both ways) per delivered message, and the plaintext under TLS. */
  wireBytesPerMessage: number | null;
  plainBytesPerMessage: number | null;
  /** TLS's own bytes (records, their headers and tags) per delivered message: wire − plaintext. */
  tlsOverheadPerMessage: number | null;
  /** Median TLS handshake, bytes both ways on the TCP socket (0 for plain text). */
  handshakeBytes: number;
  /**
   * Pollers alone on their connection: plaintext bytes of a request and its answer other
   * than the answer's body (headers, and HTTP/2's frame headers), the first on a
   * connection and the median of the following ones. Null for the others.
   */
  headerBytesPerPoll: { first: number; following: number } | null;
  latencyMs: LatencySummary | null;
  /** The server process during publishing, and its memory per subscriber once connected. */
  server: { cpuMs: number; cpuPercent: number; rssPerClientBytes: number; maxRssBytes: number } | null;
  errors: number;
  reconnects: number;
}

export interface ProtocolBenchOptions {
  clients: number;
  rate: number;
  durationSec: number;
  payloadBytes: number;
  pollIntervalMs: number;
  /** Called before each run with a line for the progress display. */
  onRun?: (index: number, total: number, plan: ProtocolPlan) => void;
}

const AUTHOR = 'bench-h2';
const SETTLE_MS = 300;
const DRAIN_MS = 3000;

/** Runs every plan in order, each on a fresh server. */
export async function runProtocols(
  plans: readonly ProtocolPlan[],
  options: ProtocolBenchOptions,
): Promise<ProtocolResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'realtime-lab-bench-tls-'));
  try {
    const certificate = await certificateFor({ host: '127.0.0.1', dir });
    const tls = { ca: certificate.cert, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
    const results: ProtocolResult[] = [];
    for (const [index, plan] of plans.entries()) {
      options.onRun?.(index, plans.length, plan);
      results.push(await runOne(plan, options, tls));
    }
    return results;
  } finally {
    // The key is the bench's alone, for this run: nothing should keep or trust it after.
    await rm(dir, { recursive: true, force: true });
  }
}

async function runOne(
  plan: ProtocolPlan,
  options: ProtocolBenchOptions,
  tls: { ca: string; certFile: string; keyFile: string },
): Promise<ProtocolResult> {
  const tlsEnv: Record<string, string> = usesTls(plan.protocol)
    ? { TLS: '1', TLS_CERT: tls.certFile, TLS_KEY: tls.keyFile }
    : {};
  const server = await startServerProcess({
    ...tlsEnv,
    MAX_CONNECTIONS_PER_ADDRESS: String(options.clients + 16),
  });
  const target: Target = { host: '127.0.0.1', port: Number(new URL(server.baseUrl).port), ca: tls.ca };
  // Requests, health and publishing on the run's own protocol (HTTP/2 for a WebSocket run over h2: its page would be).
  const requestProtocol: Protocol = plan.protocol;
  const sessions: Session[] = [];
  const followers: Follower[] = [];
  try {
    const publisher = await openSession(target, requestProtocol);
    sessions.push(publisher);
    const health = JSON.parse((await readAll((await publisher.request('/api/health')).body)).toString()) as Health;
    const tracker = new DeliveryTracker(AUTHOR, options.clients);
    const rssBefore = server.figures()?.rssBytes ?? 0;
    const shared = plan.sharing === 'shared' ? await openSession(target, requestProtocol) : null;
    if (shared) sessions.push(shared);
    for (let i = 0; i < options.clients; i++) {
      const own = plan.technique.capabilities.upgrades
        ? null
        : shared
          ? null
          : await openSession(target, requestProtocol);
      if (own) sessions.push(own);
      followers.push(
        followerFor(plan.technique)({
          technique: plan.technique,
          clientId: `${AUTHOR}-sub`,
          since: health.lastId,
          epoch: health.epoch,
          pollIntervalMs: options.pollIntervalMs,
          session: own ?? shared ?? publisher,
          alone: own !== null,
          target,
          protocol: plan.protocol,
          take: (json) => {
            const message = JSON.parse(json) as FeedMessage;
            tracker.record(i, message, Date.now() - message.ts, Buffer.byteLength(json));
          },
        }),
      );
    }
    await Promise.all(followers.map((f) => f.ready));
    await pause(SETTLE_MS);
    const subscriberConnections = (): CountedConnection[] => [
      ...sessions.filter((s) => s !== publisher).map((s) => s.connection),
      ...followers.flatMap((f) => (f.ownConnection ? [f.ownConnection] : [])),
    ];
    const rssConnected = server.figures()?.rssBytes ?? 0;
    const startBytes = totals(subscriberConnections());
    const cpuStart = server.figures()?.cpuMs ?? 0;
    const started = performance.now();
    const ids = await publishPaced(publisher, options);
    const deadline = performance.now() + DRAIN_MS;
    while (!tracker.hasAll(ids) && performance.now() < deadline) await pause(50);
    const windowMs = performance.now() - started;
    const cpuEnd = server.figures();
    const endBytes = totals(subscriberConnections());
    const figures = tracker.figures();
    const expected = ids.length * options.clients;
    const delivered = figures.messagesDelivered;
    const wire = endBytes.wire - startBytes.wire;
    const plain = endBytes.plain - startBytes.plain;
    const perMessage = (bytes: number) => (delivered > 0 ? round(bytes / delivered) : null);
    const connections = subscriberConnections();
    const handshakes = connections.map((c) => c.handshakeBytes).sort((a, b) => a - b);
    const polls = followers.map((f) => f.headerBytesPerRequest).filter((list) => list.length > 1);
    return {
      technique: plan.technique.id,
      protocol: plan.protocol,
      wire: plan.wire,
      sharing: plan.sharing,
      client: plan.technique.capabilities.upgrades
        ? `ws (${usesTls(plan.wire) ? 'wss:// on the bench’s own TLS socket: an HTTP/1.1 Upgrade' : 'ws:// on the bench’s own TCP socket'})`
        : plan.wire === 'h2'
          ? 'node:http2 on the bench’s own TLS socket'
          : `node:http on the bench’s own ${usesTls(plan.wire) ? 'TLS' : 'TCP'} socket`,
      clients: options.clients,
      messagesPublished: ids.length,
      messagesExpected: expected,
      messagesDelivered: delivered,
      lost: expected - delivered,
      duplicates: figures.duplicates,
      connections: connections.length,
      requests: followers.reduce((sum, f) => sum + f.requests, 0),
      wireBytesPerMessage: perMessage(wire),
      plainBytesPerMessage: perMessage(plain),
      tlsOverheadPerMessage: usesTls(plan.wire) ? perMessage(wire - plain) : null,
      handshakeBytes: handshakes[Math.floor(handshakes.length / 2)] ?? 0,
      headerBytesPerPoll:
        polls.length === 0
          ? null
          : {
              first: median(polls.map((list) => list[0] as number)),
              following: median(polls.flatMap((list) => list.slice(1))),
            },
      latencyMs: figures.latencyMs,
      server: cpuEnd
        ? {
            cpuMs: round(cpuEnd.cpuMs - cpuStart),
            cpuPercent: round(((cpuEnd.cpuMs - cpuStart) / windowMs) * 100),
            rssPerClientBytes: Math.max(0, Math.round((rssConnected - rssBefore) / options.clients)),
            maxRssBytes: cpuEnd.maxRssBytes,
          }
        : null,
      errors: followers.reduce((sum, f) => sum + f.errors, 0),
      reconnects: followers.reduce((sum, f) => sum + f.reconnects, 0),
    };
  } finally {
    for (const follower of followers) follower.stop();
    for (const session of sessions) session.close();
    await server.stop();
  }
}

/** Publishes `rate × duration` messages, one after another on one session, paced; returns their ids. */
async function publishPaced(session: Session, options: ProtocolBenchOptions): Promise<number[]> {
  const count = Math.max(1, Math.round(options.rate * options.durationSec));
  const body = JSON.stringify({ author: AUTHOR, text: paddedText(options.payloadBytes, AUTHOR) });
  const ids: number[] = [];
  const origin = performance.now();
  for (let i = 0; i < count; i++) {
    const wait = origin + (i * 1000) / options.rate - performance.now();
    if (wait > 0) await pause(wait);
    const reply = await session.request(`/api/messages?client=${AUTHOR}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const answer = await readAll(reply.body);
    if (reply.status === 201) ids.push((JSON.parse(answer.toString()) as { id: number }).id);
  }
  return ids;
}

function totals(connections: readonly CountedConnection[]): { wire: number; plain: number } {
  let wire = 0;
  let plain = 0;
  for (const c of connections) {
    wire += c.tcp.bytesRead + c.tcp.bytesWritten;
    plain += c.plain.bytesRead + c.plain.bytesWritten;
  }
  return { wire, plain };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

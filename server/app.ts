/**
 * buildApp(options) assembles the server without listening, so tests can listen on port
 * 0 (or inject) and `main.ts` can listen on the configured port.
 */
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { api } from './api.ts';
import { Blocks, blocksApi } from './blocks.ts';
import { Classroom, classroomApi } from './classroom.ts';
import { type Config, DEFAULT_CONFIG, checkConsistency } from './config.ts';
import type { ConnectionGuard } from './connections.ts';
import { echo } from './echo.ts';
import { type Feed, MemoryFeed } from './feed.ts';
import { labPages } from './lab-pages.ts';
import { checkConnectionCap } from './limits.ts';
import { connectionGuard } from './plugins/connection-guard.ts';
import { errorHandler } from './plugins/error-handler.ts';
import { publishLimit } from './plugins/publish-limit.ts';
import { security } from './plugins/security.ts';
import { shutdown } from './plugins/shutdown.ts';
import { requestHook } from './plugins/sync-hooks.ts';
import { wireMeter } from './plugins/wire-meter.ts';
import { PRESENCE_GRACE_MS } from './contract/defaults.js';
import { Presence, nickOf } from './presence.ts';
import { clientOf } from './plugins/wire-meter.ts';
import { QuietRequestLog } from './quiet-request-log.ts';
import { results } from './results.ts';
import { type Certificate, certificateFor } from './tls.ts';
import { type Http1Timeouts, applyHttp1Timeouts, http2ServerOptions } from './http2-settings.ts';
import type { Transport, TransportContext } from './transport.ts';
import { vendor } from './vendor.ts';
import { transports as allTransports } from './transports/index.ts';
import type { WireMeter } from './wire.ts';

export interface AppOptions {
  /** Settings; anything left out takes its default (see config.ts). */
  config?: Partial<Config>;
  /** The feed to serve; by default the one `config.feed` names, which the app then closes with itself. */
  feed?: Feed;
  /** The techniques to serve; all of them by default. */
  transports?: readonly Transport[];
  /** Where `/results/` finds bench runs (`latest/`, then `reference/`); the repo's results/ by default. */
  resultsDir?: string;
  /** Where the log's JSON lines go; standard output by default. Ignored when `config.logLevel` is `silent`. */
  logStream?: { write(line: string): void };
  /**
   * The certificate to serve when `config.tls` is on; by default the files TLS_CERT and
   * TLS_KEY name, or the development certificate (tls.ts).
   */
  certificate?: Certificate;
  /** How long a chatter stays online after its last request or connection ended, ms; PRESENCE_GRACE_MS by default. */
  presenceGraceMs?: number;
  /** How long a client with nothing open stays in the classroom's list, ms; LEAVE_AFTER_MS (classroom.ts) by default. */
  classroomLeaveAfterMs?: number;
}

export interface RealtimeLab {
  app: FastifyInstance;
  feed: Feed;
  config: Config;
  wire: WireMeter;
  connections: ConnectionGuard;
  /** The certificate served, when `config.tls` is on. */
  certificate: Certificate | null;
  /** Who is in the chat on this node (`GET /api/presence`). */
  presence: Presence;
  /** Who is connected now, by technique and node (`GET /api/classroom`, classroom.ts). */
  classroom: Classroom;
  /** The lab's block switches per client (`/api/blocks`, blocks.ts). */
  blocks: Blocks;
  /** Says goodbye to every client, for a shutdown: see `FastifyInstance.farewell` (plugins/shutdown.ts). */
  farewell(): Promise<void>;
}

const PAGES_DIR = fileURLToPath(new URL('../pages/', import.meta.url));
const CONTRACT_DIR = fileURLToPath(new URL('./contract/', import.meta.url));

/**
 * The server: the plugins that every request goes through, then the API, each technique
 * under `/api/<id>`, and the pages.
 */
export async function buildApp(options: AppOptions = {}): Promise<RealtimeLab> {
  const config = checkConsistency({ ...DEFAULT_CONFIG, ...options.config });
  const transports = options.transports ?? allTransports;
  const feed = options.feed ?? (await openFeed(config));
  const certificate = config.tls
    ? (options.certificate ??
      (await certificateFor({ host: config.host, certFile: config.tlsCert, keyFile: config.tlsKey })))
    : null;
  const app = Fastify(serverOptions(config, options.logStream, certificate));
  if (certificate) applyHttp1Timeouts(app.server as unknown as Http1Timeouts, config);

  // Every refusal the hooks below throw is answered by this one handler.
  await app.register(errorHandler);
  // Each plugin's onRequest hook runs in this order: the bookkeeping first, so that a
  // refused request is still counted; CORS before the refusals (421, 400, 503), so that
  // an allowed page can read why it was refused and when to come back.
  await app.register(shutdown);
  await app.register(wireMeter, { techniques: transports.map((transport) => transport.id) });
  await app.register(security, { config });
  await app.register(connectionGuard, { config });
  await app.register(publishLimit, { config });

  const { wire, connections, abuse, limitPublish } = app;
  // One 'close' listener per connection for the guard and the meter both.
  wire.closeThrough(connections);
  await api(app, { feed, config, wire, transports, limitPublish, abuse, connections });
  // The Redis modules are loaded only for a Redis feed: ioredis holds ~2 MB of heap that a
  // server on the memory feed would otherwise carry, and every major GC would mark.
  const redis =
    config.feed === 'memory'
      ? null
      : { ...(await import('./redis-presence.ts')), ...(await import('./redis-classroom.ts')) };
  const shared = redis?.redisPresence(config.feed, config.redisKeyPrefix);
  const presence = new Presence(
    feed,
    options.presenceGraceMs ?? PRESENCE_GRACE_MS,
    { maxChatters: config.presenceMaxChatters, maxChattersPerAddress: config.presenceMaxChattersPerAddress },
    shared,
  );
  app.get('/api/presence', async (_request, reply) => {
    const online: Record<string, { nick: string; open: number; lastSeen: number }[]> = {};
    for (const transport of transports) online[transport.id] = [];
    for (const { technique, ...chatter } of await presence.list()) online[technique]?.push(chatter);
    return reply
      .header('cache-control', 'no-store')
      .send({ graceMs: presence.graceMs, online, left: presence.departures() });
  });
  app.addHook('onClose', () => presence.close());
  // Before the techniques: its hook sees every request that names a client.
  const techniqueIds = transports.map((transport) => transport.id);
  const classroom = new Classroom(
    wire,
    techniqueIds,
    options.classroomLeaveAfterMs,
    redis?.redisClassroom(config.feed, config.redisKeyPrefix),
  );
  await classroomApi(app, classroom, techniqueIds);
  const blocks = new Blocks(transports);
  await blocksApi(app, blocks);
  for (const transport of transports) await serveTechnique(app, transport, { feed, config, presence, blocks });
  // After the techniques: it shares the feed socket's upgrade listener when there is one (echo.ts).
  await echo(app, { config, abuse });

  // After preClose has ended the held clients, so none reads a closed feed.
  if (!options.feed) app.addHook('onClose', () => feed.close());

  await app.register(fastifyStatic, { root: PAGES_DIR, prefix: '/' });
  await labPages(app);

  // The contract, served as the very modules the server runs: the pages import them.

  await vendor(app);
  await app.register(fastifyStatic, { root: CONTRACT_DIR, prefix: '/contract/', decorateReply: false });
  await app.register(results, { resultsDir: options.resultsDir });

  return {
    app,
    feed,
    config,
    certificate,
    wire,
    connections,
    presence,
    classroom,
    blocks,
    farewell: () => app.farewell(),
  };
}

/**
 * Registers `transport` in a scope of its own under `/api/<id>`, its routes tagged with
 * its id (for the wire meter) and capped at MAX_CONNECTIONS_PER_TECHNIQUE, with a
 * TransportContext built from the app's decorators.
 */
async function serveTechnique(
  app: FastifyInstance,
  transport: Transport,
  { feed, config, presence, blocks }: { feed: Feed; config: Config; presence: Presence; blocks: Blocks },
): Promise<void> {
  const context: TransportContext = {
    feed,
    config,
    delivered: (request, messages, payloadBytes) => app.wire.delivered(request, messages, payloadBytes),
    upgraded(request) {
      app.wire.upgraded(request);
      app.answerNotDue(request);
    },
    hold: (request, client) => app.hold(request, client),
    release: (request) => app.release(request),
    limitPublish: (request, client) => app.limitPublish(request, client),
    clientId: (client) => (client === undefined ? undefined : app.wire.keptClientId(client)),
    abuse: app.abuse,
  };
  await app.register(
    async (scope) => {
      scope.addHook('onRoute', (route) => {
        route.config = { ...route.config, technique: transport.id };
      });
      // The lab's block switches first: a request the "network" refuses never reached the server's limits.
      scope.addHook(
        'onRequest',
        requestHook((request, reply) => blocks.apply(transport.id, request, reply)),
      );
      // Before any handler (and before a WebSocket upgrade): is there room for one more?
      scope.addHook(
        'onRequest',
        requestHook(() =>
          checkConnectionCap(transport.id, app.wire.activeRequests(transport.id), config.maxConnectionsPerTechnique),
        ),
      );
      // A request that names a nickname is a chatter's: online while it is open. For an
      // upgraded connection, the handshake's response closes with its socket. A join is a
      // message in the feed, so it takes from the publish limit like a publish; refused, the
      // request is still served (reading the feed is never limited), unlisted and unannounced.
      scope.addHook(
        'onRequest',
        requestHook((request, reply) => {
          const nick = nickOf(request.query);
          if (nick === undefined) return;
          const client = clientOf(request.query);
          const mayAnnounce = () => {
            try {
              app.limitPublish(request.raw, client);
              return true;
            } catch {
              return false;
            }
          };
          const entered = presence.enter(
            client ?? request.ip,
            nick,
            transport.id,
            request.socket.remoteAddress,
            mayAnnounce,
          );
          if (typeof entered === 'function') reply.raw.once('close', entered);
        }),
      );
      await transport.register(scope, context);
    },
    { prefix: `/api/${transport.id}` },
  );
}

/**
 * Fastify's options: the settings the HTTP server itself enforces, and the log. With a
 * certificate, one TLS port speaks HTTP/2 and HTTP/1.1, chosen by ALPN: browsers take
 * HTTP/2; WebSocket handshakes (HTTP/1.1 upgrades), curl --http1.1 and autocannon take
 * HTTP/1.1, on the same server, routes and hooks.
 *
 * The result is typed as the HTTP/1.1 server's options: Fastify's compatibility layer
 * gives HTTP/2 requests the same request and response interface (`Http2ServerRequest`
 * and `Http2ServerResponse`), so one app serves both; what differs is handled where it
 * matters (docs/http2.md).
 */
function serverOptions(config: Config, logStream: AppOptions['logStream'], certificate: Certificate | null) {
  const common = {
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel, ...(logStream && { stream: logStream }) },
    logController: new QuietRequestLog(),
    bodyLimit: config.bodyLimitBytes,
    // Fastify copies its own requestTimeout onto the server after creating it, so it is
    // set here as well as in `http`, which reaches http.createServer (headersTimeout and
    // the interval at which Node checks both timeouts).
    requestTimeout: config.requestTimeoutMs,
    http: {
      requestTimeout: config.requestTimeoutMs,
      headersTimeout: config.headersTimeoutMs,
      connectionsCheckingInterval: 1000,
      // The Host check (host-check.ts) answers a missing Host itself, in the JSON error
      // shape and for WebSocket handshakes too, which Node's own check skips.
      requireHostHeader: false,
    },
  };
  if (!certificate) return common;
  return {
    ...common,
    http2: true,
    https: { allowHTTP1: true, key: certificate.key, cert: certificate.cert, ...http2ServerOptions(config) },
  } as unknown as typeof common;
}

/** The feed `config.feed` names: in memory, or shared through Redis. */
export async function openFeed(config: Config): Promise<Feed> {
  if (config.feed === 'memory') return new MemoryFeed({ historySize: config.historySize });
  const log = config.logLevel === 'silent' ? () => {} : (line: string) => console.error(line);
  const { RedisFeed } = await import('./redis-feed.ts');
  return RedisFeed.open({ url: config.feed, historySize: config.historySize, keyPrefix: config.redisKeyPrefix, log });
}

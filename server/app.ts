/**
 * buildApp(options) assembles the server without listening, so tests can listen on port
 * 0 (or inject) and `main.ts` can listen on the configured port.
 */
import { fileURLToPath } from 'node:url';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { AbuseMeter } from './abuse.ts';
import { api, clientOf } from './api.ts';
import { results } from './results.ts';
import { applyCors, checkConnectionCap, hostCheck, PAGE_CSP, PublishLimiter } from './limits.ts';
import { answersBeforeBody, lingerOnClose } from './linger.ts';
import { type Config, DEFAULT_CONFIG, checkConsistency } from './config.ts';
import { ConnectionGuard } from './connections.ts';
import { type Feed, MemoryFeed } from './feed.ts';
import { RedisFeed } from './redis-feed.ts';
import type { Transport, TransportContext } from './transport.ts';
import { transports as allTransports } from './transports/index.ts';
import { WireMeter } from './wire.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The technique a route belongs to; set for every route of a Transport's scope. */
    technique?: string;
  }
}

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
}

export interface RealtimeLab {
  app: FastifyInstance;
  feed: Feed;
  config: Config;
  wire: WireMeter;
  connections: ConnectionGuard;
  /**
   * Says goodbye to every client, for a shutdown: stops accepting connections, ends every
   * held request and connection politely in one pass (an `end` event, an answer, a 1001
   * close frame; one held later is ended at once), and resolves once those last words and
   * every answer in flight have been handed to the kernel, or after SHUTDOWN_GRACE_MS. The
   * sockets stay open: `app.close()` cuts them next, or the process exits and the kernel
   * closes them, each after its last bytes. Calling it again returns the same promise.
   */
  farewell(): Promise<void>;
}

const PAGES_DIR = fileURLToPath(new URL('../pages/', import.meta.url));
const CONTRACT_DIR = fileURLToPath(new URL('./contract/', import.meta.url));

/**
 * How long shutdown waits for the last words (end events, answers, close frames) and the
 * answers in flight to be handed to the kernel before the sockets are cut anyway, ms: a
 * client that stopped reading cannot take its last words.
 */
export const SHUTDOWN_GRACE_MS = 500;

export async function buildApp(options: AppOptions = {}): Promise<RealtimeLab> {
  const config = checkConsistency({ ...DEFAULT_CONFIG, ...options.config });
  const transports = options.transports ?? allTransports;
  const feed = options.feed ?? (await openFeed(config));
  const wire = new WireMeter(transports.map((transport) => transport.id));

  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel, ...(options.logStream && { stream: options.logStream }) },
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
      // The Host check (limits.ts) answers a missing Host itself, in the JSON error shape
      // and for WebSocket handshakes too, which Node's own check skips.
      requireHostHeader: false,
    },
  });

  // Connections per address, pipelined requests one at a time, the write deadline.
  const connections = new ConnectionGuard(config);
  connections.install(app.server);

  // Held requests and connections, each with the function that ends it politely.
  const held = new Map<IncomingMessage, () => Promise<void>>();
  // Requests whose answer has not left yet (a publish in flight): shutdown waits for them
  // too. A WebSocket leaves this set when upgraded, and a held request when told.
  const answering = new Set<IncomingMessage>();
  // Shutdown waits for last words and answers, not for peers to hang up: a socket whose
  // last bytes are in the kernel's hands has nothing left to say, and peers answering
  // thousands of close frames, or Node tearing down thousands of sockets one by one, would
  // each take longer than telling them all.
  const toldSockets: Socket[] = [];
  let farewell: Promise<void> | undefined;
  let lastWordsUnsent = 0;
  let saidEverything: (() => void) | undefined;
  const settle = () => {
    if (lastWordsUnsent === 0 && answering.size === 0) saidEverything?.();
  };
  const tell = (request: IncomingMessage, close: () => Promise<void>) => {
    answering.delete(request);
    toldSockets.push(request.socket);
    lastWordsUnsent += 1;
    void close().then(() => {
      lastWordsUnsent -= 1;
      settle();
    });
  };
  const sayFarewell = (): Promise<void> =>
    (farewell ??= new Promise<void>((resolve) => {
      if (app.server.listening) app.server.close();
      // One synchronous pass: every client's last words are written before any is waited for.
      for (const [request, close] of held) tell(request, close);
      held.clear();
      const grace = setTimeout(resolve, SHUTDOWN_GRACE_MS);
      saidEverything = () => {
        clearTimeout(grace);
        resolve();
      };
      settle();
    }));
  app.addHook('preClose', async () => {
    await sayFarewell();
    // Then cut every socket, as the process's exit would: those of the told clients, idle
    // keep-alive connections, and whatever did not finish within the grace.
    for (const socket of toldSockets) socket.destroy();
    app.server.closeAllConnections();
  });

  app.addHook('onRequest', async (request, reply) => {
    answering.add(request.raw);
    reply.raw.once('close', () => {
      answering.delete(request.raw);
      settle();
    });
    wire.begin(request.raw, reply.raw, request.routeOptions.config.technique, clientOf(request.query));
  });
  // The API's cross-origin policy (limits.ts); a preflight needs a route to land on.
  // First, so that a refusal below (421, 400, 503) still names an allowed origin: its page
  // can read why, and when to come back.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith('/api/')) applyCors(request, reply, config.allowedOrigins);
  });
  // Before any page, API answer or WebSocket upgrade: a name this server answers to,
  // against DNS rebinding (limits.ts). Counted by the wire meter like any refused request.
  const checkHost = hostCheck(config);
  app.addHook('onRequest', async (request) => checkHost(request));
  app.addHook('onRequest', async (request, reply) => connections.checkAdmitted(request, reply));
  app.options('/api/*', async (_request, reply) => reply.code(204).send());
  // A refused WebSocket handshake (403, 426, 503) is answered over a socket Node handed
  // over for the upgrade and no longer tracks: close it, or a client that keeps it open
  // holds the server's shutdown forever.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade !== undefined && reply.statusCode >= 400) request.raw.socket.end();
  });
  // An answer sent before its request's body has arrived (a 413, a 415...) closes the
  // connection (or Node would read an unbounded body to keep it), lingering so that the
  // client can read the answer (linger.ts).
  app.addHook('onSend', async (request, reply) => {
    if (!answersBeforeBody(request.raw)) return;
    reply.header('connection', 'close');
    lingerOnClose(request.raw);
  });
  app.addHook('onSend', async (_request, reply) => {
    connections.writeDeadline(reply.raw);
    reply.header('x-content-type-options', 'nosniff');
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('text/html') && !reply.hasHeader('content-security-policy')) {
      reply.header('content-security-policy', PAGE_CSP);
    }
  });

  const abuse = new AbuseMeter();
  const limiter = new PublishLimiter(config);
  const limitPublish = (request: IncomingMessage, client: string | undefined) => {
    try {
      limiter.take(client, request.socket.remoteAddress);
    } catch (error) {
      abuse.count('rateLimitedPublishes');
      throw error;
    }
  };
  await api(app, { feed, config, wire, transports, limitPublish, abuse, connections });

  for (const transport of transports) {
    const context: TransportContext = {
      feed,
      config,
      delivered: (request, messages, payloadBytes) => wire.delivered(request, messages, payloadBytes),
      upgraded(request) {
        wire.upgraded(request);
        answering.delete(request);
      },
      hold(request, close) {
        if (farewell) {
          tell(request, close);
          return () => {};
        }
        held.set(request, close);
        return () => held.delete(request);
      },
      limitPublish,
      abuse,
    };
    await app.register(
      async (scope) => {
        scope.addHook('onRoute', (route) => {
          route.config = { ...route.config, technique: transport.id };
        });
        // Before any handler (and before a WebSocket upgrade): is there room for one more?
        scope.addHook('onRequest', async (_request, reply) => {
          checkConnectionCap(reply, transport.id, wire.activeRequests(transport.id), config.maxConnectionsPerTechnique);
        });
        await transport.register(scope, context);
      },
      { prefix: `/api/${transport.id}` },
    );
  }

  // After preClose has ended the held clients, so none reads a closed feed.
  if (!options.feed) app.addHook('onClose', () => feed.close());

  await app.register(fastifyStatic, { root: PAGES_DIR, prefix: '/' });
  // The contract, served as the very modules the server runs: the pages import them.
  await app.register(fastifyStatic, { root: CONTRACT_DIR, prefix: '/contract/', decorateReply: false });
  await app.register(results, { resultsDir: options.resultsDir });

  return { app, feed, config, wire, connections, farewell: sayFarewell };
}

/** The feed `config.feed` names: in memory, or shared through Redis. */
export async function openFeed(config: Config): Promise<Feed> {
  if (config.feed === 'memory') return new MemoryFeed({ historySize: config.historySize });
  const log = config.logLevel === 'silent' ? () => {} : (line: string) => console.error(line);
  return RedisFeed.open({ url: config.feed, historySize: config.historySize, keyPrefix: config.redisKeyPrefix, log });
}

/**
 * A page polls every second: two log lines per request would drown the terminal a
 * teacher is looking at. Requests, and the 4xx a client earns with bad input, are logged
 * at debug level (LOG_LEVEL=debug shows them); a server failure is still an error.
 */
class QuietRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error || serverFault(reply.statusCode)) reply.log.error({ res: reply, err: error }, 'request failed');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }

  override defaultErrorLog(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    if (serverFault(reply.statusCode)) reply.log.error({ res: reply, err: error }, error.message);
    else reply.log.debug({ res: reply, err: error }, error.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'route not found');
  }
}

/**
 * Whether an answer is the server's own failure, worth an error line. A 503 is a
 * deliberate refusal (a connection cap, the feed's Redis away, which the feed reports
 * once): a load balancer's health checks must not flood the log with it.
 */
function serverFault(statusCode: number): boolean {
  return statusCode >= 500 && statusCode !== 503;
}

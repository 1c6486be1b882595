/**
 * The routes that belong to no single technique: publishing, the wire statistics and the
 * health check.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AbuseMeter } from './abuse.ts';
import type { Config } from './config.ts';
import { BadEncoding, BadPublish, UnknownTechnique } from './errors.ts';
import { type Feed, preciseNow } from './feed.ts';
import { type ConnectionGuard, descriptorFigures } from './connections.ts';
import { checkPublish } from './message.ts';
import { clientOf } from './plugins/wire-meter.ts';
import { redact } from './redact.ts';
import {
  HELD_TRANSCRIPT_MESSAGE,
  type UpgradeTranscript,
  recordHeldExchange,
  recordTranscript,
  selfAddress,
} from './transcript.ts';
import { TranscriptSlots } from './transcript-slots.ts';
import type { Transport } from './transport.ts';
import type { WireMeter } from './wire.ts';

export interface ApiOptions {
  /** Counts a publish against its client's rate limit; throws the 429 when over it. */
  limitPublish(request: import('node:http').IncomingMessage, client: string | undefined): void;
  feed: Feed;
  config: Config;
  wire: WireMeter;
  transports: readonly Transport[];
  /** What misbehaving clients did, for `/api/stats` → `abuse`. */
  abuse: AbuseMeter;
  connections: ConnectionGuard;
}

export async function api(
  app: FastifyInstance,
  { feed, config, wire, transports, limitPublish, abuse, connections }: ApiOptions,
): Promise<void> {
  // Publishing lives in its own scope because it accepts only application/json: Fastify
  // also parses text/plain by default, and text/plain is what a cross-site HTML form (or
  // a "simple" cross-origin fetch, which needs no preflight) can send.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Fastify's own decoding would turn invalid UTF-8 into U+FFFD and store it: the
    // body is decoded strictly first (as the WebSocket does, with 1007), then parsed by
    // Fastify's JSON parser, which keeps refusing __proto__ and constructor.prototype.
    const parseJson = scope.getDefaultJsonParser('error', 'error');
    const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
      let text: string;
      try {
        text = strictUtf8.decode(body);
      } catch {
        done(new BadEncoding(), undefined);
        return;
      }
      parseJson(request, text, done);
    });
    scope.post('/api/messages', { bodyLimit: config.bodyLimitBytes }, async (request, reply) => {
      const checked = checkPublish(request.body, config);
      if (!checked.ok) throw new BadPublish(checked.message);
      // Each refusal (429, the feed's 503) says when to come back: the error handler sets Retry-After.
      limitPublish(request.raw, clientOf(request.query));
      const message = await feed.publish(checked.value);
      return reply.code(201).header('cache-control', 'no-store').send(message);
    });
  });

  app.get('/api/stats', async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const client = clientOf(request.query);
    if (client !== undefined) return { client, techniques: wire.snapshot(client) };
    return {
      epoch: feed.epoch,
      lastId: feed.lastId,
      listeners: feed.listenerCount,
      techniques: wire.snapshot(),
      sharedHttp2: wire.sharedHttp2(),
      abuse: abuse.snapshot(),
      connections: connections.figures(),
      process: descriptorFigures(),
    };
  });

  // A real exchange with this very server, for the technique pages: the latest message
  // (if any) as the technique delivers it, with every header; for a technique that holds
  // the request without streaming, a request held at the head until a message is
  // published. For a technique that upgrades, the same handshake refused too, each way recorded at once (the good one
  // listens for TRANSCRIPT_LISTEN_MS, the refusals end sooner).
  const transcriptSlots = new TranscriptSlots();
  app.get<{ Params: { technique: string } }>('/api/transcripts/:technique', async (request, reply) => {
    const transport = transports.find((candidate) => candidate.id === request.params.technique);
    if (!transport)
      throw new UnknownTechnique(JSON.stringify(request.params.technique), transports.map((t) => t.id).join(', '));
    const release = transcriptSlots.take(request.raw);
    try {
      return await recordFor(transport, request, reply);
    } finally {
      release();
    }
  });

  async function recordFor(transport: Transport, request: FastifyRequest, reply: FastifyReply) {
    const address = app.server.address();
    const target = address ? selfAddress(address) : { host: config.host, port: config.port };
    reply.header('cache-control', 'no-store');
    const secure = config.tls;
    const { holdsRequest, streams } = transport.capabilities;
    if (holdsRequest && !streams) {
      // Asked from the head, the request is held; the recording's own message ends the
      // hold, and counts against the caller's publish limit like any publish.
      limitPublish(request.raw, undefined);
      const head = `/api/${transport.id}?since=${feed.lastId}&epoch=${feed.epoch}`;
      return recordHeldExchange(target, head, () => feed.publish(HELD_TRANSCRIPT_MESSAGE), secure);
    }
    const since = Math.max(0, feed.lastId - 1);
    const path = `/api/${transport.id}?since=${since}&epoch=${feed.epoch}`;
    if (!transport.capabilities.upgrades) return recordTranscript(target, path, { upgrade: false, tls: secure });
    const [good, foreignOrigin, wrongVersion] = await Promise.all([
      recordTranscript(target, path, { upgrade: true, tls: secure }),
      recordTranscript(target, path, { upgrade: true, failure: 'foreignOrigin', tls: secure }),
      recordTranscript(target, path, { upgrade: true, failure: 'wrongVersion', tls: secure }),
    ]);
    const answer: UpgradeTranscript = { ...good, refused: { foreignOrigin, wrongVersion } };
    return answer;
  }

  app.get('/api/health', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    const health = feed.health();
    // `now` lets a browser estimate its clock's offset from the server's, so the delays
    // it computes from a message's `ts` stay honest on another machine. Unhealthy (the
    // feed's Redis is away) is a 503 for load balancers, and still says what it can.
    // `epoch` and `lastId` together are a cursor for "from now on".
    const body = {
      status: health.ok ? 'ok' : 'unhealthy',
      feed: redact(config.feed),
      epoch: feed.epoch,
      lastId: feed.lastId,
      now: preciseNow(),
    };
    if (health.ok) return body;
    return reply.code(503).send({ ...body, reason: health.reason });
  });
}

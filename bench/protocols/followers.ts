/**
 * One subscriber per wire format over the bench's own counted sessions (session.ts), so
 * the same follower runs over plain HTTP/1.1, HTTP/1.1 over TLS and HTTP/2. Each reads its
 * format with the contract's parser and resumes from its cursor if its response ends. A
 * new wire format without a follower here is a type error (`Record<WireFormat, …>`).
 */
import { WebSocket } from 'ws';
import { cursorQuery } from '../../server/contract/feed.js';
import { EventStreamParser } from '../../server/contract/formats/event-stream.js';
import { NdjsonParser } from '../../server/contract/formats/ndjson.js';
import { pollItems, readPollResponse } from '../../server/contract/formats/poll.js';
import { ScriptStreamParser } from '../../server/contract/formats/script-stream.js';
import { SUBPROTOCOLS, parseServerFrame } from '../../server/contract/formats/websocket.js';
import type { Technique, WireFormat } from '../../server/contract/techniques.js';
import type { Protocol } from './protocol.ts';
import { type CountedConnection, type Session, type Target, readAll, startCounted } from './session.ts';

export interface FollowContext {
  technique: Technique;
  clientId: string;
  since: number;
  epoch: string;
  pollIntervalMs: number;
  /** The session this subscriber's requests go on (its own, or one every subscriber shares). */
  session: Session;
  /** Whether this subscriber is alone on its session, so each request's bytes are its own. */
  alone: boolean;
  /** For a technique that upgrades: where to open its own connection, and over what. */
  target: Target;
  protocol: Protocol;
  /** One feed message, as its JSON. */
  take(json: string): void;
}

export interface Follower {
  /** Resolves once the subscriber's first request is answered or held (the stream is open). */
  ready: Promise<void>;
  /**
   * When alone on its session: the plaintext bytes of each request and its answer other
   * than the answer's body (headers and framing), in order; empty otherwise.
   */
  headerBytesPerRequest: number[];
  requests: number;
  reconnects: number;
  errors: number;
  /** A connection of its own (WebSocket), counted apart from the sessions. */
  ownConnection: CountedConnection | null;
  stop(): void;
}

type FollowerFactory = (context: FollowContext) => Follower;

/** The follower of each wire format. */
export const followers: Readonly<Record<WireFormat, FollowerFactory>> = Object.freeze({
  poll: followPolls,
  'event-stream': (context) => followStream(context, { accept: 'text/event-stream', parser: new EventStreamParser() }),
  'script-stream': (context) => followStream(context, { accept: 'text/html', parser: new ScriptStreamParser() }),
  ndjson: (context) => followStream(context, { accept: 'application/x-ndjson', parser: new NdjsonParser() }),
  websocket: followWebSocket,
});

/** The follower of `technique`'s wire format. */
export function followerFor(technique: Technique): FollowerFactory {
  return followers[technique.wire];
}

function base(): Omit<Follower, 'ready' | 'stop'> {
  return { headerBytesPerRequest: [], requests: 0, reconnects: 0, errors: 0, ownConnection: null };
}

/** Plaintext bytes both ways on `connection` so far. */
function plainBytes(connection: CountedConnection): number {
  return connection.plain.bytesRead + connection.plain.bytesWritten;
}

function followPolls(context: FollowContext): Follower {
  const state = { ...base(), stopped: false };
  let cursor = context.since;
  let epoch = context.epoch;
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  const endpoint = `/api/${context.technique.id}`;
  const loop = async () => {
    while (!state.stopped) {
      const before = plainBytes(context.session.connection);
      try {
        const reply = context.session.request(
          `${endpoint}?${cursorQuery({ cursor, epoch, client: context.clientId })}`,
        );
        state.requests += 1;
        // A held request is ready once sent; a short poll once answered (below).
        if (context.technique.capabilities.holdsRequest) setTimeout(signalReady, 50);
        const answer = await reply;
        const body = await readAll(answer.body);
        const parsed = readPollResponse(answer.status, body.toString('utf8'), { cursor, epoch });
        if (context.alone)
          state.headerBytesPerRequest.push(plainBytes(context.session.connection) - before - body.length);
        for (const item of pollItems(parsed)) if (item.kind === 'message') context.take(item.json);
        cursor = parsed.cursor;
        epoch = parsed.epoch;
        signalReady();
        if (parsed.more) continue;
      } catch {
        if (state.stopped) return;
        state.errors += 1;
        await pause(200);
        continue;
      }
      if (context.technique.capabilities.pollsWhenIdle) await pause(context.pollIntervalMs);
    }
  };
  void loop();
  return Object.assign(state, {
    ready,
    stop: () => {
      state.stopped = true;
    },
  });
}

interface StreamParser {
  push(text: string): ReturnType<EventStreamParser['push']>;
}

function followStream(context: FollowContext, format: { accept: string; parser: StreamParser }): Follower {
  const state = { ...base(), stopped: false };
  let cursor = context.since;
  const epoch = context.epoch;
  let signalReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  let current: { destroy(): void } | null = null;
  const open = async () => {
    while (!state.stopped) {
      try {
        const reply = await context.session.request(
          `/api/${context.technique.id}?${cursorQuery({ cursor, epoch, client: context.clientId })}`,
          { headers: { accept: format.accept } },
        );
        state.requests += 1;
        if (reply.status !== 200) throw new Error(`status ${reply.status}`);
        current = reply.body;
        signalReady();
        reply.body.setEncoding('utf8');
        for await (const text of reply.body) {
          for (const item of format.parser.push(text as string)) {
            if (item.kind !== 'message') continue;
            cursor = (JSON.parse(item.json) as { id: number }).id;
            context.take(item.json);
          }
        }
      } catch {
        if (state.stopped) return;
        state.errors += 1;
      }
      if (state.stopped) return;
      state.reconnects += 1;
      await pause(200);
    }
  };
  void open();
  return Object.assign(state, {
    ready,
    stop: () => {
      state.stopped = true;
      current?.destroy();
    },
  });
}

function followWebSocket(context: FollowContext): Follower {
  const state = base();
  // A WebSocket is an HTTP/1.1 Upgrade even when the pages speak HTTP/2 (the server does
  // not speak RFC 8441's extended CONNECT): its own connection, over TLS when asked.
  const wire: Protocol = context.protocol === 'http/1.1' ? 'http/1.1' : 'http/1.1+tls';
  const scheme = wire === 'http/1.1' ? 'ws' : 'wss';
  const query = cursorQuery({ cursor: context.since, epoch: context.epoch, client: context.clientId });
  const socket = new WebSocket(
    `${scheme}://localhost:${context.target.port}/api/${context.technique.id}?${query}`,
    [SUBPROTOCOLS.json],
    {
      createConnection: () => {
        const started = startCounted(context.target, wire);
        state.ownConnection = started.connection;
        return started.connection.plain;
      },
    },
  );
  state.requests = 1;
  socket.on('message', (data) => {
    const frame = parseServerFrame((data as Buffer).toString('utf8'));
    if (frame.kind === 'message') context.take(frame.json);
  });
  socket.on('error', () => (state.errors += 1));
  const ready = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return Object.assign(state, { ready, stop: () => socket.terminate() });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

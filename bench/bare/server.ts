/**
 * The bare broadcast server: the yardstick the crowd run measures realtime-lab against,
 * "a bare Node http / ws server doing the same broadcast". node:http and ws, no Fastify.
 * It serves the same paths (`/api/<id>` for each technique of the registry, chosen by
 * capability and wire format, never by name), writes the same wire bytes with the
 * contract's encoders (server/contract/formats/), and answers `POST /api/messages`,
 * `GET /api/health` (`now`, `epoch`, `lastId`) and the `activeRequests` of
 * `GET /api/stats`, so the bench's drivers, publisher and clock work on it unchanged.
 *
 * What it leaves out, on purpose, since that is what the comparison is about:
 * - history: only the last RECENT messages, so that a poll whose cursor is a message or
 *   two behind (it was being answered while the next one came) gets what it missed; a
 *   cursor further back, or of another epoch, starts from now (no replay, no gap event);
 * - the slow-consumer bound: a client that stops reading keeps piling up in its buffer;
 * - meters and per-client figures: no wire accounting, no /api/stats beyond held requests;
 * - heartbeats, the iframe's byte limit, rate limits, connection caps, origin and host
 *   checks, subprotocols and permessage-deflate, publishing over the WebSocket.
 * A publish encodes the message once per wire format and writes that one buffer to every
 * open stream of the format, answers every held long poll with one shared body, and
 * hands one payload buffer to ws for every socket (ws adds its 2-byte frame header).
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { LONG_POLL_TIMEOUT_MS } from '../../server/contract/defaults.js';
import { EVENT_STREAM_HEADERS, eventStream, splitEventId } from '../../server/contract/formats/event-stream.js';
import { NDJSON_HEADERS, ndjson } from '../../server/contract/formats/ndjson.js';
import { NOTHING_NEW_STATUS, encodePollAnswer, tellsNothingNew } from '../../server/contract/formats/poll.js';
import { SCRIPT_STREAM_HEADERS, scriptStream } from '../../server/contract/formats/script-stream.js';
import { websocketFrames } from '../../server/contract/formats/websocket.js';
import { type Technique, type WireFormat, techniques } from '../../server/contract/techniques.js';
// The same epoch realtime-lab names (6 characters), so an SSE id line is byte for byte the same length.
import { newEpoch } from '../../server/feed.ts';

/** Messages kept for polls a message or two behind. */
const RECENT = 64;
/** The largest publish body read, bytes. */
const MAX_BODY_BYTES = 64 * 1024;
/** The longest hold a long poll may ask for, ms. */
const MAX_HOLD_MS = 120_000;

/** How a streamed wire format writes its opening, a message and a control event. */
interface StreamWire {
  headers: Readonly<Record<string, string>>;
  open(): string;
  message(json: string, epoch: string, id: number): string;
  control(event: { type: string; [key: string]: unknown }): string;
}

const STREAM_WIRES: Partial<Record<WireFormat, StreamWire>> = {
  'event-stream': {
    headers: EVENT_STREAM_HEADERS,
    open: eventStream.open,
    message: eventStream.message,
    control: (event) => eventStream.control(event as never),
  },
  'script-stream': {
    headers: SCRIPT_STREAM_HEADERS,
    open: scriptStream.open,
    message: (json) => scriptStream.message(json),
    control: (event) => scriptStream.control(event as never),
  },
  ndjson: {
    headers: NDJSON_HEADERS,
    open: ndjson.open,
    message: (json) => ndjson.message(json),
    control: (event) => ndjson.control(event as never),
  },
};

/** The polling answer's headers, as realtime-lab writes them (server/poll-reply.ts). */
const POLL_HEADERS = Object.freeze({
  'content-type': 'application/json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
});

interface Stored {
  id: number;
  json: string;
}

/** What one technique's route holds open. */
interface Route {
  technique: Technique;
  streams: Set<ServerResponse>;
  held: Map<ServerResponse, NodeJS.Timeout>;
  sockets: Set<WebSocket>;
}

export interface BareServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  url: string;
  close(): Promise<void>;
}

class BadRequest extends Error {}

/** Starts the bare server on `host`:`port` (0: a free port). */
export async function startBareServer(port = 0, host = '127.0.0.1'): Promise<BareServer> {
  const epoch = newEpoch();
  const recent: Stored[] = [];
  let lastId = 0;
  const routes = new Map<string, Route>(
    techniques.map((technique) => [
      `/api/${technique.id}`,
      { technique, streams: new Set(), held: new Map(), sockets: new Set() },
    ]),
  );
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: MAX_BODY_BYTES });

  /** The messages after `cursor` of `cursorEpoch` that are still kept; none for another epoch. */
  const after = (cursor: number | undefined, cursorEpoch: string | undefined): Stored[] =>
    cursor === undefined || (cursorEpoch !== undefined && cursorEpoch !== epoch)
      ? []
      : recent.filter((m) => m.id > cursor);

  const pollBody = (messages: Stored[]) =>
    encodePollAnswer({ epoch, cursor: messages.at(-1)?.id ?? lastId, messagesJson: messages.map((m) => m.json) });

  /** A poll's answer, as realtime-lab writes it: no keep-alive lines; nothing new is a bare 204. */
  const answerPoll = (res: ServerResponse, body: string | Buffer | undefined) => {
    if (res.shouldKeepAlive) res.removeHeader('connection');
    if (body === undefined) {
      res.writeHead(NOTHING_NEW_STATUS, { 'cache-control': 'no-store' });
      res.end();
      return;
    }
    res.writeHead(200, { ...POLL_HEADERS, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  /** The answer to a poll at (`since`, `cursorEpoch`) with nothing new: 204 when that position is current. */
  const nothingNew = (since: number | undefined, cursorEpoch: string | undefined) =>
    tellsNothingNew({ epoch, cursor: lastId, messages: 0 }, { epoch: cursorEpoch, cursor: since })
      ? undefined
      : pollBody([]);

  const publish = (author: string, text: string): string => {
    const message = { id: ++lastId, ts: preciseNow(), author, text };
    const json = JSON.stringify(message);
    recent.push({ id: message.id, json });
    if (recent.length > RECENT) recent.shift();
    const perWire = new Map<WireFormat, Buffer>();
    const pollAnswer = Buffer.from(pollBody([{ id: message.id, json }]));
    const frame = Buffer.from(websocketFrames.message(json));
    for (const route of routes.values()) {
      const wire = STREAM_WIRES[route.technique.wire];
      if (wire && route.streams.size > 0) {
        let bytes = perWire.get(route.technique.wire);
        if (!bytes) {
          bytes = Buffer.from(wire.message(json, epoch, message.id));
          perWire.set(route.technique.wire, bytes);
        }
        for (const res of route.streams) res.write(bytes);
      }
      for (const [res, timer] of route.held) {
        clearTimeout(timer);
        answerPoll(res, pollAnswer);
      }
      route.held.clear();
      for (const socket of route.sockets)
        if (socket.readyState === WebSocket.OPEN) socket.send(frame, { binary: false });
    }
    return json;
  };

  const serveStream = (route: Route, wire: StreamWire, req: IncomingMessage, res: ServerResponse, url: URL) => {
    const lastEventId = req.headers['last-event-id'];
    const cursor =
      typeof lastEventId === 'string' ? cursorFrom(splitEventId(lastEventId)) : cursorFrom(queryCursor(url));
    // As realtime-lab: no chunking, the body ends with its connection.
    res.writeHead(200, { ...wire.headers, connection: 'close' });
    let opening = wire.open() + wire.control({ type: 'epoch', epoch });
    for (const m of after(cursor.since, cursor.epoch)) opening += wire.message(m.json, epoch, m.id);
    res.write(opening);
    route.streams.add(res);
    res.once('close', () => route.streams.delete(res));
  };

  const servePoll = (route: Route, res: ServerResponse, url: URL) => {
    const { since, epoch: cursorEpoch } = cursorFrom(queryCursor(url));
    const waiting = after(since, cursorEpoch);
    if (waiting.length > 0) return answerPoll(res, pollBody(waiting));
    if (!route.technique.capabilities.holdsRequest) return answerPoll(res, nothingNew(since, cursorEpoch));
    const timeout = url.searchParams.get('timeout');
    const holdMs = timeout === null ? LONG_POLL_TIMEOUT_MS : Number(timeout);
    if (!/^\d{1,10}$/.test(timeout ?? '0') || holdMs > MAX_HOLD_MS)
      throw new BadRequest(`timeout: expected 0..${MAX_HOLD_MS} ms, got ${JSON.stringify(timeout)}`);
    const timer = setTimeout(() => {
      route.held.delete(res);
      answerPoll(res, nothingNew(since, cursorEpoch));
    }, holdMs);
    route.held.set(res, timer);
    res.once('close', () => {
      clearTimeout(timer);
      route.held.delete(res);
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    if (req.method === 'POST' && url.pathname === '/api/messages') {
      const input = parsePublish(await readBody(req));
      const json = publish(input.author, input.text);
      res.writeHead(201, { ...POLL_HEADERS, 'content-length': Buffer.byteLength(json) });
      res.end(json);
      return;
    }
    if (req.method !== 'GET') throw new BadRequest(`${req.method} is not served here`);
    if (url.pathname === '/api/health') {
      return json(res, 200, { status: 'ok', feed: 'bare', epoch, lastId, now: preciseNow() });
    }
    if (url.pathname === '/api/stats') {
      const counts = [...routes.values()].map((r) => [
        r.technique.id,
        { activeRequests: r.streams.size + r.held.size + r.sockets.size },
      ]);
      return json(res, 200, { techniques: Object.fromEntries(counts) });
    }
    const route = routes.get(url.pathname);
    if (!route) return json(res, 404, { error: `nothing at ${url.pathname}` });
    if (route.technique.capabilities.upgrades) return json(res, 426, { error: 'this path takes a WebSocket upgrade' });
    const wire = STREAM_WIRES[route.technique.wire];
    if (route.technique.capabilities.streams && wire) return serveStream(route, wire, req, res, url);
    return servePoll(route, res, url);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) return res.destroy();
      const status = error instanceof BadRequest ? 400 : 500;
      json(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://bare');
    const route = routes.get(url.pathname);
    if (!route?.technique.capabilities.upgrades) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    let cursor: Cursor;
    try {
      cursor = cursorFrom(queryCursor(url));
    } catch (error) {
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\nx-error: ${(error as Error).message.replace(/[^\x20-\x7e]/g, '?')}\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(websocketFrames.control({ type: 'epoch', epoch }));
      for (const m of after(cursor.since, cursor.epoch)) ws.send(websocketFrames.message(m.json));
      route.sockets.add(ws);
      ws.on('error', () => undefined);
      ws.once('close', () => route.sockets.delete(ws));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the bare server has no address');
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const route of routes.values()) {
          for (const timer of route.held.values()) clearTimeout(timer);
          for (const socket of route.sockets) socket.terminate();
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Cursor {
  since: number | undefined;
  epoch: string | undefined;
}

function queryCursor(url: URL): { id: string | undefined; epoch: string | undefined } {
  return { id: url.searchParams.get('since') ?? undefined, epoch: url.searchParams.get('epoch') ?? undefined };
}

/** A cursor from its text parts; a clear 400 for one that is not a whole number or an epoch. */
function cursorFrom(parts: { id: string | undefined; epoch: string | undefined }): Cursor {
  if (parts.id !== undefined && !/^\d{1,15}$/.test(parts.id))
    throw new BadRequest(`since: expected a whole number, got ${JSON.stringify(parts.id)}`);
  if (parts.epoch !== undefined && !/^[0-9a-z]{1,16}$/.test(parts.epoch))
    throw new BadRequest(`epoch: expected 1 to 16 of [0-9a-z], got ${JSON.stringify(parts.epoch)}`);
  return { since: parts.id === undefined ? undefined : Number(parts.id), epoch: parts.epoch };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BadRequest(`the body is over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parsePublish(body: string): { author: string; text: string } {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
  const { author, text } = (input ?? {}) as Record<string, unknown>;
  if (typeof author !== 'string' || typeof text !== 'string' || author === '' || text === '')
    throw new BadRequest('expected {"author": "…", "text": "…"}, both non-empty strings');
  return { author, text };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...POLL_HEADERS, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Epoch milliseconds to the microsecond, as realtime-lab stamps `ts` and `now`. */
function preciseNow(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000) / 1000;
}

/**
 * Every byte of each technique's exchanges, captured from a real server on port 0 over
 * raw sockets: the request head the bench's client writes (clients.ts), the answers, a
 * stream's opening, one message's framing, an idle connection's heartbeat. What
 * docs/wire-bytes.md tabulates (table.ts), and what its test holds the doc to.
 */
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../server/app.ts';
import { cursorQuery } from '../../server/contract/feed.js';
import { EVENT_STREAM_HEADERS } from '../../server/contract/formats/event-stream.js';
import { NDJSON_HEADERS } from '../../server/contract/formats/ndjson.js';
import { SCRIPT_STREAM_HEADERS } from '../../server/contract/formats/script-stream.js';
import { type Technique, type WireFormat, techniques } from '../../server/contract/techniques.js';
import { type RawConnection, type RawResponse, rawConnection } from '../../test/raw-http.ts';
import { benchRequestHead } from './clients.ts';

/** A stream's declared content type, by wire format: what the bench's client accepts. */
const STREAM_CONTENT_TYPES: Partial<Record<WireFormat, string>> = {
  'event-stream': EVENT_STREAM_HEADERS['content-type'],
  'script-stream': SCRIPT_STREAM_HEADERS['content-type'],
  ndjson: NDJSON_HEADERS['content-type'],
};

/** One part of an exchange: its text as it went (a payload shown as `<payload>`), and its bytes. */
export interface Part {
  text: string;
  bytes: number;
}

/** One answer: its head's lines (each with its CRLF) and what its body holds besides the payload. */
export interface Answer {
  lines: Part[];
  /** The body less its payload: a poll's envelope, a stream's opening. */
  envelope: Part | null;
  /** Head and body, payload included. */
  bytes: number;
  /** Bytes of message JSON in it. */
  payloadBytes: number;
}

/** Everything measured of one technique. */
export interface TechniqueBytes {
  technique: Technique;
  /** The bench's client's request head, line by line. */
  request: Part[];
  requestBytes: number;
  /** Polls: the answer with nothing new (204). */
  nothingNew?: Answer;
  /** Polls: the answer carrying one message; streams and WebSocket: the head and opening. */
  opening: Answer;
  /** Streams and WebSocket: one message on the open stream, its payload as `<payload>`. */
  message?: Answer;
  /** Streams and WebSocket: what an idle connection carries every heartbeat, both ways. */
  heartbeat?: Part[];
}

/** The server's heartbeat during the capture, ms: short, so that one comes in a moment. */
const CAPTURE_HEARTBEAT_MS = 250;
/**
 * The capture server's long-poll hold, ms: short, so that a hold ends with nothing in a
 * moment, and long past SETTLE_MS, so that a message published after it finds the hold on.
 */
const CAPTURE_HOLD_MS = 600;
/** Long enough after the first byte of a write for the rest of it to come, ms. */
const SETTLE_MS = 60;

const settle = () => new Promise((done) => setTimeout(done, SETTLE_MS));

/** Splits a head into its lines, each with its CRLF; the blank line last. */
function headParts(head: string): Part[] {
  const lines = head.split('\r\n');
  // "a\r\nb\r\n\r\n" splits into a, b, '', '': the last CRLF is the blank line's.
  lines.pop();
  return lines.map((line) => ({ text: line, bytes: Buffer.byteLength(`${line}\r\n`, 'latin1') }));
}

/** The body `body` with the message JSON `payload` (when in it) shown as `<payload>`. */
function envelopeOf(body: Buffer, payload: string | undefined): Part | null {
  if (body.length === 0) return null;
  // Byte for byte (a frame header is not UTF-8); the payloads captured are ASCII.
  const text = body.toString('latin1');
  const inside = payload !== undefined && text.includes(payload);
  return {
    text: inside ? text.replace(payload, '<payload>') : text,
    bytes: body.length - (inside ? Buffer.byteLength(payload) : 0),
  };
}

function answerOf(response: RawResponse, payload?: string): Answer {
  const head = response.lines.map((line) => ({ text: line, bytes: Buffer.byteLength(`${line}\r\n`, 'latin1') }));
  head.push({ text: '', bytes: 2 });
  const envelope = envelopeOf(response.body, payload);
  const payloadBytes =
    payload !== undefined && response.body.toString('latin1').includes(payload) ? Buffer.byteLength(payload) : 0;
  return { lines: head, envelope, bytes: response.headBytes + response.body.length, payloadBytes };
}

/** The JSON of a message as every technique carries it (the server serializes it once). */
async function publishOne(url: string): Promise<string> {
  const response = await fetch(`${url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: 'ada', text: 'a message of the capture' }),
  });
  if (response.status !== 201) throw new Error(`publish answered ${response.status}`);
  return JSON.stringify(await response.json());
}

/** The WebSocket frames in `bytes` (server frames: unmasked), each as its header and payload. */
function frames(bytes: Buffer): { header: number; payload: Buffer }[] {
  const found: { header: number; payload: Buffer }[] = [];
  let at = 0;
  while (at + 2 <= bytes.length) {
    const short = (bytes[at + 1] as number) & 0x7f;
    const header = short < 126 ? 2 : short === 126 ? 4 : 10;
    const length =
      short < 126 ? short : short === 126 ? bytes.readUInt16BE(at + 2) : Number(bytes.readBigUInt64BE(at + 2));
    found.push({ header, payload: bytes.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return found;
}

/** A client's frame: FIN and `opcode`, masked (RFC 6455 §5.3) with a zero key, carrying `payload`. */
function clientFrame(opcode: number, payload: Buffer): Buffer {
  if (payload.length > 125) throw new Error('a control frame carries at most 125 bytes');
  return Buffer.concat([Buffer.from([0x80 | opcode, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
}

/** A server on port 0 with a feed holding one message, until `use` is done with it. */
async function withServer<T>(
  config: { heartbeatMs?: number; longPollTimeoutMs?: number },
  use: (server: Served) => Promise<T>,
): Promise<T> {
  const lab = await buildApp({ config: { logLevel: 'silent', ...config } });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const { port } = lab.app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    await publishOne(url);
    return await use({ url, port, epoch: lab.feed.epoch });
  } finally {
    await lab.app.close();
  }
}

interface Served {
  url: string;
  port: number;
  epoch: string;
}

/** The head the bench's client of `technique` sends to `server`, asking from its head (cursor 1). */
async function headFor(technique: Technique, server: Served): Promise<string> {
  // As the bench's subscriber asks: from the head it found, naming its feed and its client
  // id (`bench-<8 hex>-<technique>`, engine.ts); a long poll names no hold (the server's
  // default, its driver).
  const query = cursorQuery({ cursor: 1, epoch: server.epoch, client: `bench-0123abcd-${technique.id}` });
  return benchRequestHead(
    technique,
    `/api/${technique.id}?${query}`,
    server.port,
    STREAM_CONTENT_TYPES[technique.wire],
  );
}

/** Captures one technique, each on servers of its own: the cursor and ids are the same for every technique. */
async function captureOne(technique: Technique): Promise<TechniqueBytes> {
  const { capabilities } = technique;
  const exchanges = await withServer({ longPollTimeoutMs: CAPTURE_HOLD_MS }, async (server) => {
    const head = await headFor(technique, server);
    const request = headParts(head);
    const requestBytes = Buffer.byteLength(head, 'latin1');
    const connection = await rawConnection(server.port);
    try {
      const captured = capabilities.streams
        ? await captureStream(connection, head, server)
        : await capturePolls(connection, head, server.url, capabilities.holdsRequest);
      return { ...captured, technique, request, requestBytes };
    } finally {
      connection.close();
    }
  });
  if (!capabilities.streams) return exchanges;
  // The heartbeat on a server of its own, which writes one every CAPTURE_HEARTBEAT_MS: on
  // the first, a heartbeat could have come in the middle of the message.
  const heartbeat = await withServer({ heartbeatMs: CAPTURE_HEARTBEAT_MS }, async (server) => {
    const connection = await rawConnection(server.port);
    try {
      await connection.exchange(await headFor(technique, server), { until: (body) => body.includes(server.epoch) });
      await settle();
      const opened = connection.bodySoFar().length;
      await connection.atLeast(opened + 1, CAPTURE_HEARTBEAT_MS * 4);
      await settle();
      return heartbeatParts(connection.bodySoFar().subarray(opened), capabilities.upgrades);
    } finally {
      connection.close();
    }
  });
  return { ...exchanges, heartbeat };
}

/** What a heartbeat carries: the bytes written, or for WebSocket the ping and the client's pong. */
function heartbeatParts(written: Buffer, upgrades: boolean): Part[] {
  if (!upgrades) return [{ text: written.toString('utf8'), bytes: written.length }];
  const [ping] = frames(written);
  if (!ping) throw new Error('no ping came');
  // The client's pong carries the ping's payload back, masked as every client frame must be.
  const pong = clientFrame(0xa, ping.payload);
  return [
    { text: 'ping frame (server)', bytes: ping.header + ping.payload.length },
    { text: 'pong frame (client)', bytes: pong.length },
  ];
}

async function capturePolls(connection: RawConnection, head: string, url: string, held: boolean) {
  // A hold that ends with nothing: the server's hold is CAPTURE_HOLD_MS here.
  const nothingNew = answerOf(await connection.exchange(head));
  let payload: string;
  let answered: RawResponse;
  if (held) {
    const answer = connection.exchange(head);
    await settle();
    payload = await publishOne(url);
    answered = await answer;
  } else {
    payload = await publishOne(url);
    answered = await connection.exchange(head);
  }
  return { nothingNew, opening: answerOf(answered, payload) };
}

async function captureStream(connection: RawConnection, head: string, { url, epoch }: Served) {
  // The opening ends with the stream's epoch event.
  const response = await connection.exchange(head, { until: (body) => body.includes(epoch) });
  await settle();
  const opening = answerOf({ ...response, body: connection.bodySoFar() });
  const before = connection.bodySoFar().length;
  const payload = await publishOne(url);
  await connection.atLeast(before + Buffer.byteLength(payload));
  await settle();
  const messageBytes = connection.bodySoFar().subarray(before);
  const message: Answer = {
    lines: [],
    envelope: envelopeOf(messageBytes, payload),
    bytes: messageBytes.length,
    payloadBytes: Buffer.byteLength(payload),
  };
  return { opening, message };
}

/** Every registered technique's bytes, each from servers of its own on port 0. */
export async function captureWireBytes(): Promise<TechniqueBytes[]> {
  const captured: TechniqueBytes[] = [];
  for (const technique of techniques) captured.push(await captureOne(technique));
  return captured;
}

/**
 * WebSocket subscribers on the `ws` client, each on its own connection; one that closes
 * without being asked to reopens from its cursor after a backoff. They speak the run's
 * variant (bench/ws-variants.ts): JSON text frames without compression (the default),
 * the MessagePack subprotocol (binary frames), or JSON with permessage-deflate offered.
 */
import WebSocket from 'ws';
import { messageOf } from '../../server/contract/feed.js';
import {
  SUBPROTOCOLS,
  type ServerFrame,
  parseMsgpackServerFrame,
  parseServerFrame,
} from '../../server/contract/formats/websocket.js';
import { streamModel } from '../../server/contract/models.js';
import type { WsVariant } from '../ws-variants.ts';
import {
  type BenchDriver,
  FIRST_CONNECTS_IN_FLIGHT,
  endpointOf,
  reconnectWait,
  type SubscriberReport,
} from './driver.ts';
import { subscriberQuery } from './driver.ts';

/** How long a subscriber waits for the server's close frame before cutting the socket, ms. */
const CLOSE_WAIT_MS = 1000;
/** What the client offers for a variant: a subprotocol, the extension, or neither. */
function clientOffer(variant: WsVariant | undefined): { protocols: string[]; options: WebSocket.ClientOptions } {
  if (variant === 'msgpack') return { protocols: [SUBPROTOCOLS.msgpack], options: { perMessageDeflate: false } };
  // ws offers client_max_window_bits and takes what the server answers; context takeover both ways.
  return { protocols: [], options: { perMessageDeflate: variant === 'deflate' } };
}

/**
 * One server frame, read with the contract's parser of the variant's format, and the
 * bytes of its payload as the server counts them: a message's JSON, or on the msgpack
 * subprotocol its MessagePack (the whole binary frame). Null for a frame of the wrong
 * kind (text on the binary subprotocol, or the other way round).
 */
function frameOf(
  data: WebSocket.RawData,
  isBinary: boolean,
  variant: WsVariant | undefined,
): { frame: ServerFrame; payloadBytes: number } | null {
  if (variant === 'msgpack') {
    if (!isBinary) return null;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    return { frame: parseMsgpackServerFrame(bytes), payloadBytes: bytes.length };
  }
  if (isBinary) return null;
  const text = data.toString();
  return { frame: parseServerFrame(text), payloadBytes: Buffer.byteLength(text) };
}

export const driver: BenchDriver = {
  client: 'the ws package, one connection per client',
  subscribe(context) {
    const { clients, tracker, clock } = context;
    const path = endpointOf(context.technique);
    const sockets = new Set<WebSocket>();
    const timers = new Set<NodeJS.Timeout>();
    let stopping = false;
    let errors = 0;
    let reconnects = 0;

    // Resolves when the first connection opens; later ones (after a cut) reopen from the
    // client's cursor after a backoff.
    const open = (index: number, cursor: number, epoch: string | undefined, attempt: number): Promise<void> => {
      const url = `${context.baseUrl.replace(/^http/, 'ws')}${path}?${subscriberQuery(context, cursor, epoch)}`;
      const offer = clientOffer(context.wsVariant);
      const socket = new WebSocket(url, offer.protocols, offer.options);
      sockets.add(socket);
      socket.on('message', (data, isBinary) => {
        const now = clock.now();
        const read = frameOf(data, isBinary, context.wsVariant);
        if (read === null) {
          // A text frame on the binary subprotocol, or the other way round.
          errors += 1;
          return;
        }
        const { frame, payloadBytes } = read;
        if (frame.kind === 'message') {
          const message = messageOf(frame);
          tracker.record(index, message, now - message.ts, payloadBytes);
          cursor = message.id;
        } else if (frame.kind === 'control') {
          if (frame.event.type === 'epoch') epoch ??= frame.event.epoch;
          else if (frame.event.type === 'reset') {
            epoch = frame.event.epoch;
            cursor = 0;
          } else if (frame.event.type === 'gap') tracker.gap(index, frame.event.missed);
        }
      });
      socket.on('error', () => undefined);
      socket.once('close', () => {
        sockets.delete(socket);
        if (stopping) return;
        reconnects += 1;
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            open(index, cursor, epoch, attempt + 1).catch(() => undefined);
          },
          reconnectWait(context, attempt),
        );
        timers.add(timer);
      });
      return new Promise<void>((resolve, reject) => {
        socket.once('open', () => {
          // ws already fails a handshake whose answer names a protocol not offered; this is
          // the other half: a server that ignored the offer would send JSON, not the variant.
          if (offer.protocols.length > 0 && socket.protocol !== offer.protocols[0]) {
            errors += 1;
            socket.close(1000);
            reject(new Error(`${path} did not accept the subprotocol ${offer.protocols[0]}`));
            return;
          }
          attempt = 0;
          resolve();
        });
        socket.once('unexpected-response', (_req, res) => {
          errors += 1;
          // With this listener ws leaves the handshake hanging: end it, so that a refused
          // reconnect (a 503 past a cap) closes and backs off instead of waiting forever.
          socket.terminate();
          reject(new Error(`${path} answered ${res.statusCode}`));
        });
        socket.once('error', reject);
      });
    };

    // FIRST_CONNECTS_IN_FLIGHT lanes, each opening its next client once its last one is open.
    let nextFirst = 0;
    const lane = async () => {
      while (nextFirst < clients && !stopping) await open(nextFirst++, context.since, context.epoch, 0);
    };
    const ready = Promise.all(Array.from({ length: Math.min(clients, FIRST_CONNECTS_IN_FLIGHT) }, lane)).then(
      () => undefined,
    );
    return {
      ready,
      async stop(): Promise<SubscriberReport> {
        stopping = true;
        for (const timer of timers) clearTimeout(timer);
        await Promise.all(
          [...sockets].map(
            (socket) =>
              new Promise<void>((resolve) => {
                if (socket.readyState === WebSocket.CLOSED) return resolve();
                const cut = setTimeout(() => socket.terminate(), CLOSE_WAIT_MS);
                socket.once('close', () => {
                  clearTimeout(cut);
                  resolve();
                });
                if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
                else socket.close(1000);
              }),
          ),
        );
        return { errors, reconnects };
      },
    };
  },
  // The contract's stream model for this wire format (framing from the server's own encoder), as the page shows it too.
  predict: (input) => streamModel('websocket', true, input),
};

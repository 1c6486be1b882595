/**
 * WebSocket subscribers on the `ws` client, without compression (the server offers
 * none), each on its own connection.
 */
import WebSocket from 'ws';
import type { BenchDriver, SubscriberReport } from './driver.ts';
import { subscriberQuery } from './driver.ts';

/** How long a subscriber waits for the server's close frame before cutting the socket, ms. */
const CLOSE_WAIT_MS = 1000;
/**
 * The close handshake, once per client: the client's close frame (2 header bytes, a
 * 4-byte mask, the 2-byte code) and the server's (2 header bytes, the 2-byte code).
 */
const CLOSE_HANDSHAKE_BYTES = 8 + 4;

export const websocket: BenchDriver = {
  id: 'websocket',
  client: 'the ws package, one connection per client',
  subscribe(context) {
    const { clients, tracker, clock } = context;
    const sockets: WebSocket[] = [];
    let errors = 0;
    const ready = Promise.all(
      Array.from({ length: clients }, (_, index) => {
        const url = `${context.baseUrl.replace(/^http/, 'ws')}/api/websocket?${subscriberQuery(context, context.since)}`;
        const socket = new WebSocket(url, { perMessageDeflate: false });
        sockets.push(socket);
        socket.on('message', (data, isBinary) => {
          const now = clock.now();
          const json = data.toString();
          const frame = JSON.parse(json) as { type?: string; missed?: number; id: number; ts: number; author: string };
          if (isBinary) errors += 1;
          else if (frame.type === undefined) tracker.record(index, frame, now - frame.ts, Buffer.byteLength(json));
          else if (frame.type === 'gap') tracker.gap(index, frame.missed ?? 0);
        });
        socket.on('error', () => (errors += 1));
        return new Promise<void>((resolve, reject) => {
          socket.once('open', () => resolve());
          socket.once('unexpected-response', (_req, res) => reject(new Error(`/api/websocket answered ${res.statusCode}`)));
          socket.once('error', reject);
        });
      }),
    ).then(() => undefined);
    return {
      ready,
      async stop(): Promise<SubscriberReport> {
        await Promise.all(
          sockets.map(
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
        return { errors };
      },
    };
  },
  predict({ clients, publishedIds, payloadBytesPerMessage }) {
    const predictions: ReturnType<BenchDriver['predict']> = [
      { metric: 'httpRequests', predicted: clients, tolerance: 0, model: 'one upgrade request per client' },
    ];
    if (publishedIds.length > 0) {
      // RFC 6455 §5.2: 2 bytes up to 125 bytes of payload, 4 up to 65,535, 10 beyond.
      const header = payloadBytesPerMessage < 126 ? 2 : payloadBytesPerMessage < 65_536 ? 4 : 10;
      predictions.push({
        metric: 'framingBytesPerMessage',
        predicted: header + CLOSE_HANDSHAKE_BYTES / publishedIds.length,
        tolerance: 0.05,
        toleranceAbs: 2,
        model: 'the frame header per message: 2 bytes below 126 bytes of payload (RFC 6455 §5.2), and the close handshake once',
      });
    }
    return predictions;
  },
};

/**
 * The request heads the bench's own clients write, captured rather than typed: each client
 * library is pointed, with the options its driver uses, at a recorder that keeps the
 * head it receives and answers as little as lets the client finish. Pollers are
 * autocannon, streams node:http with `agent: false` and the format's `accept`, WebSocket
 * clients `ws` offering nothing.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import WebSocket from 'ws';
import type { Technique } from '../../server/contract/techniques.js';

/** The head a client wrote, as bytes (request line, header lines, blank line). */
export type RequestHead = string;

/** Starts a recorder on port 0; `next()` resolves with the next request head it receives. */
async function recorder(): Promise<{ port: number; next(): Promise<RequestHead>; close(): Promise<void> }> {
  const waiting: ((head: RequestHead) => void)[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = received.subarray(0, end + 4).toString('latin1');
      received = received.subarray(end + 4);
      waiting.shift()?.(head);
      // Enough for a poller to count its request done; a stream or a handshake is cut.
      socket.end('HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n');
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () =>
      new Promise((closed) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => closed());
      }),
  };
}

/** What the streams' driver sends as `accept`: its format's media type, parameters left out. */
export function acceptOf(contentType: string): string {
  return contentType.split(';')[0]?.trim() ?? contentType;
}

/**
 * The head the bench's client of `technique` writes for `path` (query included), to a
 * server on `port` of 127.0.0.1: the recorder's port is swapped for `port` in the Host
 * line, so the head can be sent to that server as it is.
 */
export async function benchRequestHead(
  technique: Technique,
  path: string,
  port: number,
  streamContentType: string | undefined,
): Promise<RequestHead> {
  const target = await recorder();
  try {
    const received = target.next();
    const url = `http://127.0.0.1:${target.port}${path}`;
    const { capabilities } = technique;
    if (capabilities.upgrades) {
      const socket = new WebSocket(url.replace('http:', 'ws:'), [], { perMessageDeflate: false });
      socket.on('error', () => undefined);
    } else if (capabilities.streams) {
      if (!streamContentType) throw new Error(`${technique.id}: a stream needs its content type`);
      const req = httpRequest(url, { agent: false, headers: { accept: acceptOf(streamContentType) } });
      req.on('response', (res: IncomingMessage) => res.resume());
      req.on('error', () => undefined);
      req.end();
    } else {
      autocannon({ url, connections: 1, amount: 1, pipelining: 1 }, () => undefined);
    }
    const head = await received;
    return head.replace(`127.0.0.1:${target.port}`, `127.0.0.1:${port}`);
  } finally {
    await target.close();
  }
}

/**
 * The server's side of the delay harness: when the server handed each message's bytes to
 * a socket, per technique, found by the message's start in every wire format.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { preciseNow } from '../../server/feed.ts';

/** How every wire format starts a message: its JSON, `{"id":N,"ts":…`. */
export const MESSAGE_ID = /\{"id":(\d+),"ts":/g;

/** The technique of a request path or URL, `/api/<id>…`; undefined for anything else. */
export function techniqueOfPath(path: string): string | undefined {
  return /^(?:https?:\/\/[^/]+|wss?:\/\/[^/]+)?\/api\/([^/?]+)/.exec(path)?.[1];
}

/**
 * Stamps, per technique and message id (`<technique> <id>`), when the server first handed
 * bytes carrying the message to a socket: every write of a connection that asked for
 * `/api/<technique>` is looked at for `{"id":N,"ts":`, which starts a message in each wire
 * format (the iframe's escapes leave `{`, `"` and `:` alone).
 */
export function stampWrites(server: Server, written: Map<string, number>): void {
  const techniqueOf = new WeakMap<Socket, string>();
  const tag = (request: IncomingMessage) => {
    const technique = techniqueOfPath(request.url ?? '');
    if (technique) techniqueOf.set(request.socket, technique);
  };
  server.on('request', tag);
  server.on('upgrade', tag);
  server.on('connection', (socket: Socket) => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      const at = preciseNow();
      const technique = techniqueOf.get(socket);
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('latin1') : '';
      if (technique) {
        for (const match of text.matchAll(MESSAGE_ID)) {
          const key = `${technique} ${match[1]}`;
          if (!written.has(key)) written.set(key, at);
        }
      }
      return write(chunk, ...rest);
    }) as Socket['write'];
  });
}

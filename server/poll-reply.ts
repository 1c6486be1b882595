/**
 * How a polling answer goes on the wire, short and long polling alike: the headers a
 * browser or a cache acts on and nothing more (docs/wire-bytes.md has each line's bytes and
 * why it stays), and `204 No Content` with no body when the answer would tell the client
 * nothing new.
 */
import { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { NOTHING_NEW_STATUS } from './contract/formats/poll.js';
import { http2SessionOf } from './protocol.ts';
import type { PollPage, TransportContext } from './transport.ts';

/**
 * Sends `page` as the answer to `request`, and counts what it delivers. A 200 carries its
 * JSON as `application/json` (RFC 8259 defines no charset parameter: JSON is UTF-8);
 * every answer says `no-store`, the 204 too: a 204 is cacheable by default (RFC 9110
 * §15.3.5), and a cache that kept one would answer "nothing new" to later polls of the
 * same cursor.
 */
export function sendPollPage(
  request: FastifyRequest,
  reply: FastifyReply,
  page: PollPage,
  context: Pick<TransportContext, 'delivered'>,
): FastifyReply {
  context.delivered(request.raw, page.messages, page.payloadBytes);
  reply.header('cache-control', 'no-store');
  dropKeepAliveLines(request, reply);
  if (page.body === undefined) return reply.code(NOTHING_NEW_STATUS).send();
  // As a string: Node writes a string body joined to the head, one chunk, where a Buffer
  // goes as a second (and a copy of the body made first). A serializer of the reply's own,
  // which leaves the string as it is, keeps Fastify from appending `; charset=utf-8` to a
  // JSON type sent as a string.
  return reply.type('application/json').serializer(asIs).send(page.body);
}

function asIs(body: string): string {
  return body;
}

/**
 * Leaves out `Connection: keep-alive` and `Keep-Alive: timeout=N`, 48 bytes Node adds to
 * every HTTP/1.1 answer it keeps the connection open after. HTTP/1.1 connections persist
 * unless one side says `close` (RFC 9112 §9.3), so the first says nothing; the second is a
 * hint Chromium does not read (it keeps a used idle socket up to 5 minutes whatever it
 * says) and Firefox and undici read only to close an idle connection before the server
 * does. A poller asks again within its interval or hold, well inside the server's idle
 * timeout, and a browser resends a GET whose reused connection closed before any answer.
 * Only when Node would keep the connection: a `Connection: close` (asked by the client,
 * set by the shutdown or the server) is written as ever. `removeHeader('connection')` is
 * Node's own way to leave the line out and still persist (http.OutgoingMessage).
 */
function dropKeepAliveLines(request: FastifyRequest, reply: FastifyReply): void {
  const res = reply.raw;
  if (http2SessionOf(request.raw) || !(res instanceof ServerResponse)) return;
  // Past maxRequestsPerSocket Node writes `Connection: close`: that line stays.
  const lastAllowed = (res as { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached === true;
  if (res.shouldKeepAlive && !lastAllowed && !res.hasHeader('connection')) {
    res.removeHeader('connection');
  }
}

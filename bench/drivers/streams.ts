/**
 * Subscribers for the techniques that keep one HTTP response open (an event stream, a
 * script stream): one plain `node:http` request per client on its own socket, read as it
 * arrives by the contract's parser of the technique's wire format. No client library:
 * FACTS.md measured the `eventsource` package making SSE look 1.5× slower than the
 * server is, and the bench measures the server. When the server ends a response (the
 * iframe's byte limit), the client reopens from its cursor at once; when a connection
 * breaks, it reopens from its cursor after the contract's backoff, as the pages do.
 */
import { type ClientRequest, request as httpRequest } from 'node:http';
import { type FeedItem, messageOf } from '../../server/contract/feed.js';
import type { SubscribeContext, SubscriberReport, Subscribers } from './driver.ts';
import { FIRST_CONNECTS_IN_FLIGHT, endpointOf, reconnectWait, subscriberQuery } from './driver.ts';

/** Feeds text in, gets complete items out; keeps an incomplete tail for the next chunk. */
export interface StreamParser {
  push(text: string): FeedItem[];
}

export interface StreamOptions {
  /** The `accept` header of each request. */
  accept: string;
  /** A fresh parser for one response. */
  parser(): StreamParser;
}

export function httpStreams(context: SubscribeContext, options: StreamOptions): Subscribers {
  const { clients, tracker, clock } = context;
  const path = endpointOf(context.technique);
  const open = new Set<ClientRequest>();
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;
  let errors = 0;
  let reconnects = 0;
  let connected = 0;
  let allConnected!: () => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    allConnected = resolve;
    failed = reject;
  });

  let nextFirst = 0;
  const connectNext = () => {
    if (stopping || nextFirst >= clients) return;
    connect(nextFirst++, context.since, context.epoch, true, 0);
  };

  const connect = (index: number, cursor: number, epoch: string | undefined, first: boolean, attempt: number) => {
    const parser = options.parser();
    // A first connection, once answered or failed, lets the next client's start.
    let handedOn = !first;
    const handOn = () => {
      if (handedOn) return;
      handedOn = true;
      connectNext();
    };
    let settled = false;
    // The server's own `end` event: only then did the stream end on purpose (a body that
    // ends with its connection cannot tell a clean end from a cut by itself).
    let endedByServer = false;
    // Called once per request, whichever way it ends: the server ended it (its byte
    // limit: reopen at once), or it broke (a cut, a refused connection: back off).
    const ended = (clean: boolean) => {
      if (settled) return;
      settled = true;
      open.delete(req);
      if (stopping) return;
      reconnects += 1;
      const delay = clean ? 0 : reconnectWait(context, attempt);
      const timer = setTimeout(() => {
        timers.delete(timer);
        connect(index, cursor, epoch, false, clean ? 0 : attempt + 1);
      }, delay);
      timers.add(timer);
    };
    const req = httpRequest(`${context.baseUrl}${path}?${subscriberQuery(context, cursor, epoch)}`, {
      agent: false,
      headers: { accept: options.accept },
    });
    open.add(req);
    req.on('response', (res) => {
      handOn();
      if (res.statusCode !== 200) {
        errors += 1;
        res.resume();
        if (first) failed(new Error(`${path} answered ${res.statusCode}`));
        else ended(false);
        return;
      }
      // A working connection: the next failure starts the backoff from the beginning.
      attempt = 0;
      if (first && ++connected === clients) allConnected();
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        const now = clock.now();
        for (const item of parser.push(text)) {
          if (item.kind === 'message') {
            const message = messageOf(item);
            tracker.record(index, message, now - message.ts, Buffer.byteLength(item.json));
            cursor = message.id;
          } else if (item.event.type === 'epoch') {
            // Kept only when this subscriber has none: one that differs is followed by a reset.
            epoch ??= item.event.epoch;
          } else if (item.event.type === 'reset') {
            // Another feed: the cursor counts in it from the start.
            epoch = item.event.epoch;
            cursor = 0;
          } else if (item.event.type === 'gap') {
            tracker.gap(index, item.event.missed);
          } else if (item.event.type === 'end') {
            endedByServer = true;
          }
        }
      });
      res.on('end', () => ended(endedByServer));
      res.on('close', () => ended(endedByServer));
      res.on('error', () => ended(false));
    });
    req.on('error', (error) => {
      handOn();
      if (first && !stopping && connected < clients) failed(error);
      ended(false);
    });
    req.end();
  };

  for (let i = 0; i < Math.min(clients, FIRST_CONNECTS_IN_FLIGHT); i++) connectNext();
  return {
    ready,
    async stop(): Promise<SubscriberReport> {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      for (const req of open) req.destroy();
      open.clear();
      return { errors, reconnects };
    },
  };
}

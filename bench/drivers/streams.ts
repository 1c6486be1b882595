/**
 * Subscribers for the techniques that keep one HTTP response open (SSE, forever iframe):
 * one plain `node:http` request per client on its own socket, read as it arrives by a
 * minimal parser of the technique's format. No client library: FACTS.md measured the
 * `eventsource` package making SSE look 1.5× slower than the server is, and the bench
 * measures the server. When the server ends a response (the iframe's byte limit), the
 * client reopens from its cursor, as the pages do.
 */
import { type ClientRequest, request as httpRequest } from 'node:http';
import type { SubscribeContext, SubscriberReport, Subscribers } from './driver.ts';
import { subscriberQuery } from './driver.ts';

/** What a parser finds in the stream. */
export type StreamItem = { kind: 'message'; json: string } | { kind: 'control'; event: { type: string; missed?: number; cursor?: number } };

/** Feeds text in, gets complete items out; keeps an incomplete tail for the next chunk. */
export interface StreamParser {
  push(text: string): StreamItem[];
}

export interface StreamOptions {
  path: string;
  accept: string;
  parser(): StreamParser;
}

export function httpStreams(context: SubscribeContext, options: StreamOptions): Subscribers {
  const { clients, tracker, clock } = context;
  const open = new Set<ClientRequest>();
  let stopping = false;
  let errors = 0;
  let connected = 0;
  let allConnected!: () => void;
  let failed!: (error: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    allConnected = resolve;
    failed = reject;
  });

  const connect = (index: number, cursor: number, first: boolean) => {
    const parser = options.parser();
    const req = httpRequest(`${context.baseUrl}${options.path}?${subscriberQuery(context, cursor)}`, {
      agent: false,
      headers: { accept: options.accept },
    });
    open.add(req);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        errors += 1;
        res.resume();
        if (first) failed(new Error(`${options.path} answered ${res.statusCode}`));
        return;
      }
      if (first && ++connected === clients) allConnected();
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        const now = clock.now();
        for (const item of parser.push(text)) {
          if (item.kind === 'message') {
            const message = JSON.parse(item.json) as { id: number; ts: number; author: string };
            tracker.record(index, message, now - message.ts, Buffer.byteLength(item.json));
            cursor = message.id;
          } else if (item.event.type === 'gap') {
            tracker.gap(index, item.event.missed ?? 0);
          }
        }
      });
      res.on('end', () => {
        open.delete(req);
        // The server ended the response (its byte limit): reopen from where we are.
        if (!stopping) connect(index, cursor, false);
      });
    });
    req.on('error', (error) => {
      open.delete(req);
      if (stopping) return;
      errors += 1;
      if (first) failed(error);
    });
    req.end();
  };

  for (let i = 0; i < clients; i++) connect(i, context.since, true);
  return {
    ready,
    async stop(): Promise<SubscriberReport> {
      stopping = true;
      for (const req of open) req.destroy();
      open.clear();
      return { errors };
    },
  };
}

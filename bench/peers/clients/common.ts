/**
 * What every peer client shares: N connections of one library's client, reported to the
 * bench's DeliverySink as realtime-lab's drivers report theirs (the delay is the receipt
 * on the server's clock minus the message's `ts`), ready once every one is open, and
 * connected a few at a time so that a thousand of them do not overflow the accept queue.
 */
import type { Clock } from '../../clock.ts';
import type { DeliverySink, FeedMessage } from '../../delivery.ts';
import type { SubscriberReport, Subscribers } from '../../drivers/driver.ts';

/** What a peer client is given: the peer server, and where its subscribers report. */
export interface PeerContext {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  baseUrl: string;
  clients: number;
  tracker: DeliverySink;
  clock: Clock;
  /** The peer's `/api/health`: where a client finds a second port (`websocket`). */
  health: Record<string, unknown>;
}

/** What one connection tells its subscriber about itself. */
export interface Hooks {
  /** Open (again, after the library reconnected). */
  open(): void;
  /** A message, as the library hands it over: its JSON, or the object it decoded. */
  message(message: string | FeedMessage): void;
  /** Failed, or closed while it should be open. */
  fail(error: Error): void;
}

/** A connection, which the subscribers end with `close()`. */
export interface Connection {
  close(): void;
}

/** A peer's client: its library and how it opens one connection. */
export interface PeerClient {
  /** The client the figures were measured with, in words. */
  client: string;
  connect(context: PeerContext, hooks: Hooks): Connection;
}

/** Connections being opened at once; the server's accept queue is 511. */
const CONNECTING_AT_ONCE = 50;

/** Opens `context.clients` connections of `peer`, each reporting as subscriber 0…N-1. */
export function subscribe(peer: PeerClient, context: PeerContext): Subscribers {
  const connections: Connection[] = [];
  let errors = 0;
  let reconnects = 0;
  let opened = 0;
  let started = 0;
  let stopping = false;
  let settle!: (error?: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    settle = (error) => (error ? reject(error) : resolve());
  });
  // Stopped before every connection opened: nobody waits on `ready` any more.
  ready.catch(() => undefined);
  const next = (): void => {
    if (stopping || started >= context.clients) return;
    const index = started++;
    let open = false;
    connections.push(
      peer.connect(context, {
        open() {
          if (open) {
            reconnects += 1;
            return;
          }
          open = true;
          opened += 1;
          if (opened === context.clients) settle();
          next();
        },
        message(raw) {
          const json = typeof raw === 'string' ? raw : JSON.stringify(raw);
          const message = typeof raw === 'string' ? (JSON.parse(raw) as FeedMessage) : raw;
          context.tracker.record(index, message, context.clock.now() - message.ts, Buffer.byteLength(json));
        },
        fail(error) {
          if (stopping) return;
          errors += 1;
          if (!open) settle(new Error(`${peer.client}: subscriber ${index} did not connect: ${error.message}`));
        },
      }),
    );
  };
  for (let i = 0; i < Math.min(CONNECTING_AT_ONCE, context.clients); i++) next();
  return {
    ready,
    async stop(): Promise<SubscriberReport> {
      stopping = true;
      for (const connection of connections) connection.close();
      return { errors, reconnects };
    },
  };
}

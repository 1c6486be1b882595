/**
 * The lab's block switches: "the network breaks a technique for this client". A page sets,
 * for its own client id, which techniques are refused and which are buffered, so that a
 * class watches a fallback happen without a real hostile proxy in the way. Lab-only, and
 * only the client that set a block is affected: everyone else's requests pass untouched.
 *
 * - `refuse`: answered with RTL_TECHNIQUE_BLOCKED before the technique runs. For a
 *   WebSocket handshake that is a plain HTTP answer instead of 101, which is all a page
 *   sees of a proxy that stripped Upgrade (close 1006, the status hidden from scripts).
 * - `buffer` (only for techniques that hold a request): the response's bytes, headers
 *   included, are held back until BUFFER_RELEASE_BYTES have piled up or the response ends,
 *   as a buffering proxy does (bench/network/http-proxy.ts, `holdBytes`): a stream looks
 *   connected but silent, a long poll's answer comes whole.
 */
import type { ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BadBlocks, TechniqueBlocked } from './errors.ts';
import { clientOf } from './plugins/wire-meter.ts';
import type { Transport } from './transport.ts';

/** What a block does to a technique's requests. */
export type BlockMode = 'refuse' | 'buffer';
/** The modes a body may name; `none` lifts a block. */
export const BLOCK_MODES = ['none', 'refuse', 'buffer'] as const;
/** Clients whose blocks are kept; past it the least recently used is forgotten (like the wire meter's MAX_CLIENTS). */
export const MAX_BLOCKED_CLIENTS = 1000;
/** A held response is released once this much is held: the buffering intermediary's default, 4 KiB. */
export const BUFFER_RELEASE_BYTES = 4 * 1024;
/**
 * The most all held responses together may hold, bytes: past it a response's bytes pass
 * as they come, so a page opening many buffered streams cannot grow the server's memory.
 */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The blocks of every client, and the hook that applies them. */
export class Blocks {
  readonly #byClient = new Map<string, Map<string, BlockMode>>();
  readonly #transports: readonly Transport[];
  #heldBytes = 0;

  constructor(transports: readonly Transport[]) {
    this.#transports = transports;
  }

  /** The blocks `client` set, as technique id → mode. */
  get(client: string): Record<string, BlockMode> {
    return Object.fromEntries(this.#byClient.get(client) ?? []);
  }

  /** Replaces `client`'s blocks with `body` (technique id → mode); throws BadBlocks naming what is allowed. */
  set(client: string, body: unknown): Record<string, BlockMode> {
    const blocks = this.#parse(body);
    this.#byClient.delete(client);
    if (blocks.size === 0) return {};
    if (this.#byClient.size >= MAX_BLOCKED_CLIENTS) {
      const oldest = this.#byClient.keys().next().value;
      if (oldest !== undefined) this.#byClient.delete(oldest);
    }
    this.#byClient.set(client, blocks);
    return this.get(client);
  }

  clear(client: string): void {
    this.#byClient.delete(client);
  }

  /** Bytes held back right now, over every buffered response. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  /** Applies the block, if any, that the request's client set on `technique`: a refusal, or a buffered response. */
  apply(technique: string, request: FastifyRequest, reply: FastifyReply): void {
    const client = clientOf(request.query);
    if (client === undefined) return;
    const blocks = this.#byClient.get(client);
    const mode = blocks?.get(technique);
    if (!blocks || !mode) return;
    // Used: the young end of the LRU.
    this.#byClient.delete(client);
    this.#byClient.set(client, blocks);
    if (mode === 'refuse') throw new TechniqueBlocked(technique, client);
    this.#buffer(reply.raw as ServerResponse | Http2ServerResponse);
  }

  #parse(body: unknown): Map<string, BlockMode> {
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new BadBlocks('the body must be a JSON object of technique id → "none", "refuse" or "buffer"');
    const blocks = new Map<string, BlockMode>();
    for (const [id, mode] of Object.entries(body)) {
      const transport = this.#transports.find((entry) => entry.id === id);
      if (!transport)
        throw new BadBlocks(
          `no technique ${JSON.stringify(id)}; the techniques are ${this.#transports.map((entry) => entry.id).join(', ')}`,
        );
      if (!(BLOCK_MODES as readonly unknown[]).includes(mode))
        throw new BadBlocks(`${id}: no mode ${JSON.stringify(mode)}; the modes are ${BLOCK_MODES.join(', ')}`);
      if (mode === 'buffer' && !transport.capabilities.holdsRequest)
        throw new BadBlocks(
          `${id} holds no request, so nothing can be buffered: it can be "refuse"d; "buffer" applies to ${this.#transports
            .filter((entry) => entry.capabilities.holdsRequest)
            .map((entry) => entry.id)
            .join(', ')}`,
        );
      if (mode !== 'none') blocks.set(id, mode as BlockMode);
    }
    return blocks;
  }

  /**
   * Holds what the response writes, its headers too, until BUFFER_RELEASE_BYTES or its
   * end, lump after lump. Write callbacks run when their bytes are really written, so a
   * writer waiting on one waits as it would behind a proxy.
   */
  #buffer(res: ServerResponse | Http2ServerResponse): void {
    const write = res.write.bind(res) as (chunk: unknown, callback?: () => void) => boolean;
    const end = res.end.bind(res) as (...args: unknown[]) => unknown;
    // Over HTTP/1.1 the headers wait for the first write anyway; over HTTP/2 writeHead
    // sends its HEADERS frame at once, which an EventSource takes for an open stream:
    // held here until the first lump, as the proxy holds the whole response.
    let sendHead = () => {};
    if (res instanceof Http2ServerResponse) {
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => unknown;
      let head: unknown[] | undefined;
      res.writeHead = ((...args: unknown[]) => {
        head = args;
        return res;
      }) as Http2ServerResponse['writeHead'];
      sendHead = () => {
        if (head === undefined) return;
        const args = head;
        head = undefined;
        writeHead(...args);
      };
    }
    let held: Buffer[] = [];
    let heldBytes = 0;
    let callbacks: (() => void)[] = [];
    const forget = () => {
      this.#heldBytes -= heldBytes;
      const lump = Buffer.concat(held);
      const waiting = callbacks;
      held = [];
      heldBytes = 0;
      callbacks = [];
      return { lump, waiting };
    };
    // Whether the client is behind: a write the response refused room for, not drained yet.
    // Answered to every write, held or not, so that a stream still waits for a client that
    // stopped reading, and is dropped when it stalls, instead of piling up without end.
    let behind = false;
    res.on('drain', () => {
      behind = false;
    });
    const passOn = (bytes: Buffer, done?: () => void): boolean => {
      if (!write(bytes, done)) behind = true;
      return !behind;
    };
    const release = (): boolean => {
      sendHead();
      const { lump, waiting } = forget();
      if (lump.length > 0) return passOn(lump, () => runAll(waiting));
      runAll(waiting);
      return !behind;
    };
    res.write = ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
      const done = [encodingOrCallback, callback].find((value) => typeof value === 'function') as
        | (() => void)
        | undefined;
      const encoding = typeof encodingOrCallback === 'string' ? (encodingOrCallback as BufferEncoding) : 'utf8';
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : Buffer.from(chunk);
      if (this.#heldBytes + bytes.length > MAX_BUFFERED_BYTES) {
        release();
        return passOn(bytes, done);
      }
      held.push(bytes);
      heldBytes += bytes.length;
      this.#heldBytes += bytes.length;
      if (done) callbacks.push(done);
      if (heldBytes >= BUFFER_RELEASE_BYTES) return release();
      return !behind;
    }) as ServerResponse['write'] & Http2ServerResponse['write'];
    res.end = ((...args: unknown[]) => {
      release();
      return end(...args);
    }) as ServerResponse['end'] & Http2ServerResponse['end'];
    // A client that gives up on a silent stream: what was held goes nowhere.
    res.once('close', () => forget());
  }
}

function runAll(callbacks: readonly (() => void)[]): void {
  for (const callback of callbacks) callback();
}

/** `GET`, `PUT` and `DELETE /api/blocks?client=ID`, and `app.blocks` for the techniques' hook. */
export async function blocksApi(app: FastifyInstance, blocks: Blocks): Promise<void> {
  const clientNamed = (request: FastifyRequest) => {
    const client = clientOf(request.query);
    if (client === undefined) throw new BadBlocks('name the client whose blocks these are: ?client=ID');
    return client;
  };
  const answer = (reply: FastifyReply, client: string) =>
    reply.header('cache-control', 'no-store').send({ client, blocks: blocks.get(client) });
  app.get('/api/blocks', async (request, reply) => answer(reply, clientNamed(request)));
  app.put('/api/blocks', async (request, reply) => {
    const client = clientNamed(request);
    blocks.set(client, request.body);
    return answer(reply, client);
  });
  app.delete('/api/blocks', async (request, reply) => {
    const client = clientNamed(request);
    blocks.clear(client);
    return answer(reply, client);
  });
}

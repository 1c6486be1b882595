/**
 * The `fetch` every test client uses. Plain `http://` origins go to Node's own fetch. An
 * origin a TLS test server registered (`trustOrigin`) is reached trusting the test
 * certificate, over the protocol the test asked for:
 *
 * - `http/1.1`: Node's fetch (undici) through an `Agent` that trusts the certificate;
 * - `h2`: `node:http2`, one session per origin carrying every request as a stream, its
 *   answer returned as a standard `Response`. Not undici's own HTTP/2 (`allowH2`, bundled
 *   with Node 20 as undici 6.24, "experimental"): with a long stream open on a session, it
 *   holds a POST forever or cuts the long stream with a PROTOCOL_ERROR when the POST ends
 *   (its queue assumes answers come back in order), so a client could not publish while
 *   subscribed, which every test does.
 *
 * The `undici` package is not installed, so its `Agent` is taken from the dispatcher
 * Node's fetch creates for itself: the same class Node ships.
 */
import http2, { type ClientHttp2Session, type IncomingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';

/** The protocols a test server speaks over TLS, as a test asks for them. */
export type TlsProtocol = 'h2' | 'http/1.1';

interface Dispatcher {
  close(): Promise<void>;
}
type AgentClass = new (options: { connect: { ca: string } }) => Dispatcher;

interface TrustedOrigin {
  ca: string;
  protocol: TlsProtocol;
  /** HTTP/1.1 over TLS: the undici dispatcher that trusts the CA. */
  dispatcher?: Dispatcher;
  /** HTTP/2: the session every request of this origin is a stream of, once opened. */
  session?: ClientHttp2Session;
}

const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const byOrigin = new Map<string, TrustedOrigin>();

async function agentClass(): Promise<AgentClass> {
  let dispatcher = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER];
  if (!dispatcher) {
    // Node's fetch makes its dispatcher at its first call; a data: URL touches no network.
    await fetch('data:,');
    dispatcher = (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER];
  }
  if (!dispatcher) throw new Error("Node's fetch has no global dispatcher to take undici's Agent from");
  return (dispatcher as { constructor: AgentClass }).constructor;
}

/**
 * Makes `labFetch` (and the WebSocket client, through `caFor`) reach `origin`
 * (https://host:port) over `protocol`, trusting `ca`. Returns what undoes it: its
 * connections close once their last answer is read, not waited for (a client may not
 * have read its stream's end yet; the server, closed first, ends them).
 */
export async function trustOrigin(origin: string, ca: string, protocol: TlsProtocol): Promise<() => Promise<void>> {
  const entry: TrustedOrigin = { ca, protocol };
  if (protocol === 'http/1.1') entry.dispatcher = new (await agentClass())({ connect: { ca } });
  byOrigin.set(origin, entry);
  return async () => {
    if (byOrigin.get(origin) === entry) byOrigin.delete(origin);
    entry.session?.close();
    void entry.dispatcher?.close().catch(() => undefined);
  };
}

/** The CA to give other clients (`ws`, `node:http2`) of `url`'s origin, if a test server registered one. */
export function caFor(url: string): string | undefined {
  return byOrigin.get(new URL(url.replace(/^ws/, 'http')).origin)?.ca;
}

/** `fetch`, over the protocol and trusting the certificate of the request's origin when a test server registered one. */
export const labFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const trusted = byOrigin.get(url.origin);
  if (trusted?.protocol === 'h2') return h2Fetch(trusted, url, init);
  if (!trusted?.dispatcher) return fetch(input, init);
  // `dispatcher` is undici's extension of RequestInit, honoured by Node's fetch.
  return fetch(input, { ...init, dispatcher: trusted.dispatcher } as RequestInit);
};

/** The session of `origin`, opened at its first request and again after it closed. */
function sessionOf(origin: TrustedOrigin, url: URL): ClientHttp2Session {
  if (!origin.session || origin.session.closed || origin.session.destroyed) {
    const session = http2.connect(url.origin, { ca: origin.ca });
    // A session cut by the server (its shutdown) fails the streams it carried, not the test process.
    session.on('error', () => {});
    origin.session = session;
  }
  return origin.session;
}

/** A request as one stream of the origin's HTTP/2 session; the body a string, as every test client sends. */
async function h2Fetch(origin: TrustedOrigin, url: URL, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = {
    ':method': init.method ?? 'GET',
    ':path': `${url.pathname}${url.search}`,
  };
  for (const [name, value] of new Headers(init.headers)) headers[name] = value;
  init.signal?.throwIfAborted();
  const stream = sessionOf(origin, url).request(headers, {
    endStream: init.body == null,
    ...(init.signal && { signal: init.signal }),
  });
  if (init.body != null) stream.end(String(init.body));
  const answer = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
    stream.once('response', resolve);
    stream.once('error', reject);
    stream.once('close', () => reject(new Error(`HTTP/2 stream closed before its answer (code ${stream.rstCode})`)));
  });
  const responseHeaders = new Headers();
  for (const [name, value] of Object.entries(answer)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) responseHeaders.append(name, one);
  }
  const status = Number(answer[':status']);
  // A body-less status may not be given a body, even an empty stream.
  const body = status === 204 || status === 304 || headers[':method'] === 'HEAD' ? null : Readable.toWeb(stream);
  if (!body) stream.resume();
  return new Response(body as ReadableStream<Uint8Array> | null, { status, headers: responseHeaders });
}

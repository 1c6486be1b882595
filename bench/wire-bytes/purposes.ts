/**
 * What each header line and envelope part of the captured exchanges is for: the words of
 * docs/wire-bytes.md's tables. A line the server or a bench client starts writing that
 * has no entry here stops the generator (and the doc's test), naming it: nothing goes on
 * the wire unexplained.
 */

/** Why a response header line is there, by lower-cased name (and value, when it matters). */
const RESPONSE_HEADERS: Record<string, string | ((value: string) => string)> = {
  'cache-control': (value) =>
    value === 'no-store'
      ? 'keep: no cache may store a poll answer; a stored 200 or 204 (a 204 is cacheable by default, RFC 9110 §15.3.5) would answer later polls of the same cursor with old news'
      : 'keep: no cache keeps or transforms (compresses, so buffers) the stream',
  'content-type': (value) =>
    value.startsWith('application/json')
      ? 'keep: how to read the body; no charset (RFC 8259 defines none: JSON is UTF-8)'
      : value.startsWith('text/html')
        ? 'keep: the charset lets Chromium run each chunk as it comes, with no 1 KiB sniffed first'
        : value.startsWith('text/event-stream')
          ? 'keep: EventSource refuses any other type'
          : 'keep: the fetch stream client checks it',
  'x-content-type-options':
    'keep: the body echoes users\u2019 text; nosniff stops a browser running it as script or reading it as another type',
  'content-length': 'keep: where the body ends, so the next poll can use the connection (chunking costs more)',
  date: 'keep: a MUST for an origin server with a clock (RFC 9110 §6.6.1)',
  connection: (value) =>
    value === 'close'
      ? 'keep: the body ends with the connection (RFC 9112 §6.3), so no chunk framing per message'
      : 'keep: the handshake\u2019s answer (RFC 6455 §4.2.2)',
  'x-accel-buffering': 'keep: nginx buffers a proxied response unless told not to: a buffered stream is not a stream',
  'content-security-policy': 'keep: only this site may frame the document (clickjacking)',
  upgrade: 'keep: the handshake\u2019s answer (RFC 6455 §4.2.2)',
  'sec-websocket-accept': 'keep: proves the server read this handshake (RFC 6455 §4.2.2)',
};

/** Why a request header line is there, by lower-cased name. */
const REQUEST_HEADERS: Record<string, string | ((value: string) => string)> = {
  host: 'required by HTTP/1.1 (RFC 9112 §3.2); the server\u2019s Host check reads it (DNS rebinding)',
  connection: (value) =>
    value === 'keep-alive'
      ? 'autocannon\u2019s own: HTTP/1.1 persists without it'
      : value === 'close'
        ? 'node:http without an agent: the stream\u2019s connection is not reused'
        : 'the handshake (RFC 6455 §4.1)',
  accept: 'the bench\u2019s stream client names the format; the server does not need it',
  upgrade: 'the handshake (RFC 6455 §4.1)',
  'sec-websocket-version': 'the handshake (RFC 6455 §4.1)',
  'sec-websocket-key': 'the handshake (RFC 6455 §4.1)',
};

/** What each part of a request's query is for, by parameter name. */
const QUERY_PARAMETERS: Record<string, string> = {
  since: 'the cursor: resume, exactly once per cursor',
  epoch: 'the feed the cursor counts in: a restarted feed is told, not trusted',
  client: 'the client\u2019s id, for per-client figures (the bench\u2019s and the pages\u2019 meters; optional)',
  timeout: 'a hold other than the server\u2019s default (neither the bench nor the pages ask for one)',
};

function lookup(table: Record<string, string | ((value: string) => string)>, line: string, what: string): string {
  const colon = line.indexOf(':');
  const name = line.slice(0, colon).toLowerCase();
  const entry = table[name];
  if (entry === undefined) throw new Error(`${what} line ${JSON.stringify(line)}: say what it is for in purposes.ts`);
  return typeof entry === 'string' ? entry : entry(line.slice(colon + 1).trim());
}

/** What a response's header line is for; its status line when `first`. */
export function responseLinePurpose(line: string, first: boolean): string {
  if (first) return 'the status line';
  if (line === '') return 'the end of the head';
  return lookup(RESPONSE_HEADERS, line, 'response header');
}

/** What a request's header line is for (not its request line: see queryPurpose). */
export function requestLinePurpose(line: string): string {
  if (line === '') return 'the end of the head';
  return lookup(REQUEST_HEADERS, line, 'request header');
}

/** What a query parameter is for. */
export function queryPurpose(name: string): string {
  const purpose = QUERY_PARAMETERS[name];
  if (purpose === undefined) throw new Error(`query parameter ${name}: say what it is for in purposes.ts`);
  return purpose;
}

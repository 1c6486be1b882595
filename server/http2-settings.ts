/**
 * The HTTP/2 and TLS settings of `npm start -- --tls`, chosen rather than inherited.
 * Node's defaults leave one connection unbounded where the HTTP/1.1 server is bounded:
 * SETTINGS_MAX_CONCURRENT_STREAMS of 4294967295 lets one connection hold any number of
 * requests, past what MAX_CONNECTIONS_PER_ADDRESS was meant to bound; the HTTP/1.1 side of
 * the same port has its own header timeout of 60 s, not HEADERS_TIMEOUT_MS; a TLS
 * handshake may take 120 s.
 */
import type { Config } from './config.ts';

/**
 * Streams one HTTP/2 connection may have open at once; one more is refused with
 * RST_STREAM (REFUSED_STREAM), which a client retries on another connection. 100 is the
 * least RFC 9113 (§6.5.2) recommends, so as not to limit parallelism: more than a page
 * opens (seven panels, their polls and publishes), and an address holds at most
 * MAX_CONNECTIONS_PER_ADDRESS times this many requests.
 */
export const HTTP2_MAX_CONCURRENT_STREAMS = 100;

/**
 * Bytes of header fields one request may send, uncompressed (SETTINGS_MAX_HEADER_LIST_SIZE):
 * Node's HTTP/1.1 limit (`--max-http-header-size`, 16 KiB), so that both protocols take
 * the same requests.
 */
export const HTTP2_MAX_HEADER_LIST_BYTES = 16 * 1024;

/** What `http2.createSecureServer` takes beside the certificate, for `config`. */
export function http2ServerOptions(config: Pick<Config, 'headersTimeoutMs'>) {
  return {
    settings: {
      maxConcurrentStreams: HTTP2_MAX_CONCURRENT_STREAMS,
      maxHeaderListSize: HTTP2_MAX_HEADER_LIST_BYTES,
    },
    maxHeaderListSize: HTTP2_MAX_HEADER_LIST_BYTES,
    // A client that has not finished its TLS handshake has not sent its headers either.
    handshakeTimeout: config.headersTimeoutMs,
  };
}

/** The HTTP/1.1 timeouts of an HTTP/2 server's HTTP/1.1 connections, which Node sets itself (60 s, 300 s, checked every 30 s). */
export interface Http1Timeouts {
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
}

/**
 * Gives the HTTP/1.1 connections of an HTTP/2 server (ALPN `http/1.1`) the timeouts of
 * the plain HTTP server: Node's HTTP/2 server ignores the ones Fastify passes in `http`.
 * Call before it listens: the checking interval is read then.
 */
export function applyHttp1Timeouts(
  server: Http1Timeouts,
  config: Pick<Config, 'headersTimeoutMs' | 'requestTimeoutMs'>,
): void {
  server.headersTimeout = config.headersTimeoutMs;
  server.requestTimeout = config.requestTimeoutMs;
  server.connectionsCheckingInterval = 1000;
}

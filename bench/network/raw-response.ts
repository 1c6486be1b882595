/**
 * For the intermediaries' tests: one GET read as it arrives, with nothing in between (no
 * client library that buffers, parses or reconnects), so a test sees exactly when each
 * byte came through and whether the response ended.
 */
import { type ClientRequest, request } from 'node:http';

export interface RawResponse {
  /** Resolves with the status once the response's headers arrived. */
  readonly status: Promise<number>;
  /** The body so far. */
  readonly body: () => string;
  /** Body bytes so far. */
  readonly bytes: () => number;
  /** True once the body ended or the connection broke. */
  readonly ended: () => boolean;
  close(): void;
}

/** Sends a GET to `url` on a connection of its own and records what comes back. */
export function rawGet(url: string, headers: Record<string, string> = {}): RawResponse {
  let body = '';
  let bytes = 0;
  let ended = false;
  let req: ClientRequest;
  const status = new Promise<number>((resolve, reject) => {
    req = request(url, { agent: false, headers }, (res) => {
      resolve(res.statusCode ?? 0);
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        body += chunk.toString('utf8');
      });
      res.on('close', () => (ended = true));
    });
    req.on('error', (error) => {
      ended = true;
      reject(error);
    });
    req.end();
  });
  status.catch(() => undefined);
  return {
    status,
    body: () => body,
    bytes: () => bytes,
    ended: () => ended,
    close: () => req.destroy(),
  };
}

/**
 * Where an intermediary listens: the bench's on a free loopback port, the pages' (`npm
 * start -- --intermediary`) on the address and port the app would have had.
 */
import type { Server } from 'node:net';

export interface Listen {
  host: string;
  /** 0 for a free one. */
  port: number;
}

/** A free loopback port: the bench's default. */
export const LOOPBACK: Listen = Object.freeze({ host: '127.0.0.1', port: 0 });

/** Listens, rejecting on an error (EADDRINUSE) instead of throwing it later. */
export function listenOn(server: Server, { host, port }: Listen): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * How many transcripts may be recorded at once. A recording is the server connecting to
 * itself (three connections for an upgrading technique, held TRANSCRIPT_LISTEN_MS; a held
 * request for HOLD_BEFORE_PUBLISH_MS and more), all from the server's own address: left
 * unbounded, a flood of `GET /api/transcripts/<id>` spent that address's
 * MAX_CONNECTIONS_PER_ADDRESS, refusing every other client of it (everyone on the
 * teacher's laptop), and multiplied each request into three connections.
 */
import type { IncomingMessage } from 'node:http';
import { TooManyTranscripts } from './errors.ts';

/** Recordings at once, every client together: at most three times this many connections to itself. */
export const MAX_TRANSCRIPTS_AT_ONCE = 8;
/** Recordings at once for one client address: a page records one at a time. */
export const MAX_TRANSCRIPTS_PER_ADDRESS = 2;

/** The recordings under way, by client address. */
export class TranscriptSlots {
  readonly #byAddress = new Map<string, number>();
  #total = 0;

  /** Takes a slot for `request`'s address; returns its release. Throws TooManyTranscripts (503, Retry-After) when none is free. */
  take(request: IncomingMessage): () => void {
    const address = request.socket.remoteAddress ?? 'unknown';
    const mine = this.#byAddress.get(address) ?? 0;
    if (this.#total >= MAX_TRANSCRIPTS_AT_ONCE || mine >= MAX_TRANSCRIPTS_PER_ADDRESS)
      throw new TooManyTranscripts(MAX_TRANSCRIPTS_PER_ADDRESS, MAX_TRANSCRIPTS_AT_ONCE);
    this.#total += 1;
    this.#byAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total -= 1;
      const left = (this.#byAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#byAddress.set(address, left);
      else this.#byAddress.delete(address);
    };
  }
}

// Long polling: ask the same question, but the server holds the request until there is
// an answer (or its timeout passes, 25 s by default); ask again as soon as it comes back.
import { readPollResponse } from '/contract/formats/poll.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  #abort = new AbortController();

  connect() {
    this.#abort = new AbortController();
    this.#poll();
  }

  async #poll() {
    // This poll's own signal: after a close() and open() in a row, this.#abort is the
    // next connection's, and an aborted poll must not take itself for a failure and retry.
    const { signal } = this.#abort;
    const span = this.spanStart('request');
    // Held by the server: open, though nothing has come back yet.
    this.setState('OPEN');
    try {
      // Where this poll stands: a 204 answers "nothing new after it".
      const asked = { cursor: this.cursor, epoch: this.epoch };
      // No `cache: 'no-store'`: every poll answer says `no-store` itself, so the browser
      // keeps none, and the option's `Pragma` and `Cache-Control` lines cost 43 bytes a poll.
      const response = await fetch(this.url(), { signal });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const answer = readPollResponse(response.status, await response.text(), asked);
      this.spanEnd(span);
      if (signal.aborted) return;
      this.opened();
      this.receiveBatch(answer);
      // At once, whether or not the answer was cut to a page (`more`).
      this.#poll();
    } catch (error) {
      this.spanEnd(span);
      if (signal.aborted) return;
      this.log(`long poll failed: ${error}`);
      this.retry();
    }
  }

  disconnect() {
    this.#abort.abort();
  }
}

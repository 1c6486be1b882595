// Long polling: ask the same question, but the server holds the request until there is
// an answer (or its timeout passes, 25 s by default); ask again as soon as it comes back.
import { parsePollAnswer } from '/contract/formats/poll.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  #abort = new AbortController();

  connect() {
    this.#abort = new AbortController();
    this.#poll();
  }

  async #poll() {
    const span = this.spanStart('request');
    // Held by the server: open, though nothing has come back yet.
    this.setState('OPEN');
    try {
      const response = await fetch(this.url(), { signal: this.#abort.signal, cache: 'no-store' });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const answer = parsePollAnswer(await response.text());
      this.spanEnd(span);
      this.opened();
      this.receiveBatch(answer);
      // At once, whether or not the answer was cut to a page (`more`).
      this.#poll();
    } catch (error) {
      this.spanEnd(span);
      if (this.#abort.signal.aborted) return;
      this.log(`long poll failed: ${error}`);
      this.retry();
    }
  }

  disconnect() {
    this.#abort.abort();
  }
}

// Short polling: ask "anything after my cursor?" every interval. Each question is a whole
// HTTP request and response, and most answers are empty.
import { readPollResponse } from '/contract/formats/poll.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  #timer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
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
      // An answer cut to a page (`more`): the rest is there already, ask for it at once.
      // `intervalMs` is the page's knob.
      this.#timer = setTimeout(() => this.#poll(), answer.more ? 0 : this.intervalMs);
    } catch (error) {
      this.spanEnd(span);
      if (signal.aborted) return;
      this.log(`poll failed: ${error}`);
      this.retry();
    }
  }

  disconnect() {
    clearTimeout(this.#timer);
    this.#abort.abort();
  }
}

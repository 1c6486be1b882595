// Streaming over fetch: one long response of NDJSON (one JSON value per line), read as it
// arrives with a ReadableStream reader. fetch() reconnects by nothing and sends no
// Last-Event-ID: when the stream ends or breaks, this client asks again with the cursor
// and epoch of the last line it parsed (url() puts them in `since` and `epoch`), at once
// when the server ended it at its byte limit, after the contract's backoff otherwise.
import { NdjsonParser } from '/contract/formats/ndjson.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  /** @type {AbortController | null} */
  #abort = null;

  connect() {
    const abort = new AbortController();
    this.#abort = abort;
    void this.#read(abort);
  }

  disconnect() {
    // Aborting cancels the body: the reader's pending read() rejects and the server sees the hang-up.
    this.#abort?.abort();
    this.#abort = null;
  }

  /** One request, read to its end; then reconnects unless aborted. @param {AbortController} abort */
  async #read(abort) {
    const span = this.spanStart('connection');
    let endedByServer = false;
    try {
      const response = await fetch(this.url(), { signal: abort.signal, cache: 'no-store' });
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      this.opened();
      const reader = response.body.getReader();
      // The stream's bytes may split a UTF-8 character or a line anywhere: the decoder
      // keeps a partial character, the parser a partial line, until the next chunk.
      const decoder = new TextDecoder();
      const parser = new NdjsonParser();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const item of parser.push(decoder.decode(value, { stream: true }))) {
          // Only its byte limit is worth coming back at once for; after a shutdown, back off.
          if (item.kind === 'control' && item.event.type === 'end' && item.event.reason === 'limit')
            endedByServer = true;
          this.receiveItem(item);
        }
      }
      this.log(
        endedByServer ? 'the server ended the stream at its limit' : 'the stream ended without an end line (cut)',
      );
    } catch (error) {
      if (abort.signal.aborted) return;
      this.log(`the stream failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.spanEnd(span);
    }
    if (abort.signal.aborted || this.#abort !== abort) return;
    if (endedByServer) {
      this.setState('CONNECTING');
      this.connect();
    } else this.retry();
  }
}

// Server-Sent Events: one response that never ends, read by the browser's EventSource.
// EventSource reconnects by itself and sends the last id it saw as Last-Event-ID; the
// server writes each id as <epoch>.<id>, so that header carries the whole cursor.
import { CONTROL_TYPES } from '/contract/feed.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  /** @type {EventSource | null} */
  #source = null;
  /** @type {import('./client.js').Span | null} */
  #span = null;

  connect() {
    const source = new EventSource(this.url());
    this.#source = source;
    this.#span = this.spanStart('connection');
    source.onopen = () => this.opened();
    // Messages are unnamed events; control events are named by their type.
    source.onmessage = (event) => this.receive(JSON.parse(event.data));
    for (const type of CONTROL_TYPES) {
      source.addEventListener(type, (event) => this.control(JSON.parse(/** @type {MessageEvent} */ (event).data)));
    }
    source.onerror = () => {
      if (this.#span) this.spanEnd(this.#span);
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an HTTP error): reconnect ourselves, with backoff.
        this.log('the stream failed and EventSource gave up (an HTTP error: it hides the status)');
        this.retry();
      } else {
        // The browser is reconnecting by itself, after `retry:` ms.
        this.log('the stream broke; EventSource reconnects by itself');
        this.setState('CONNECTING');
        this.#span = this.spanStart('connection');
      }
    };
  }

  disconnect() {
    this.#source?.close();
    this.#source = null;
    if (this.#span) this.spanEnd(this.#span);
  }
}

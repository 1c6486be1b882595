// Forever iframe: a hidden iframe loads a page that never ends; the server writes one
// <script> per message, calling a function of this page whose name the contract fixes
// (SCRIPT_CALLBACKS). When the document ends (the server caps its size), the iframe's
// load event fires: reopen from the cursor.
import { SCRIPT_CALLBACKS } from '/contract/formats/script-stream.js';
import { FeedClient } from './client.js';

export class Client extends FeedClient {
  /** @type {HTMLIFrameElement | null} */
  #frame = null;
  /** @type {import('./client.js').Span | null} */
  #span = null;
  /** Set when the server said it ends this document on purpose: reopen at once. */
  #endedByServer = false;

  connect() {
    // The server calls these two fixed names on the parent window: one client of this
    // format per page.
    Object.assign(window, {
      [SCRIPT_CALLBACKS.message]: (/** @type {import('/contract/feed.js').Message} */ message) => {
        this.opened();
        this.receive(message);
      },
      [SCRIPT_CALLBACKS.event]: (/** @type {import('/contract/feed.js').ControlEvent} */ event) => {
        if (event.type === 'end' && event.reason === 'limit') this.#endedByServer = true;
        this.control(event);
      },
    });
    this.#endedByServer = false;
    const frame = document.createElement('iframe');
    frame.hidden = true;
    frame.title = `${this.technique.title} transport`;
    frame.src = this.url();
    frame.onload = () => {
      // The document ended: the server's byte cap, a shutdown, or a failure.
      if (this.#span) this.spanEnd(this.#span);
      if (this.#frame !== frame) return; // removed on purpose
      frame.remove();
      if (this.#endedByServer) this.connect();
      else {
        this.log('the document ended (cut, or an error page: a frame hides its HTTP status)');
        this.retry();
      }
    };
    this.#frame = frame;
    this.#span = this.spanStart('connection');
    document.body.append(frame);
    // A streaming document fires no event when it starts: show it open; the backoff is
    // reset by the first message that arrives through it.
    this.setState('OPEN');
  }

  disconnect() {
    const frame = this.#frame;
    this.#frame = null;
    frame?.remove();
    if (this.#span) this.spanEnd(this.#span);
  }
}

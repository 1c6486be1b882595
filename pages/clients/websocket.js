// WebSocket: one upgraded connection, frames both ways. Messages arrive as JSON frames;
// every other frame has a `type` (the contract's parseServerFrame tells them apart). This
// client can also publish on the same connection.
import { parseServerFrame, websocketFrames } from '/contract/formats/websocket.js';
import { FeedClient } from './client.js';

/** @import { PublishAnswer } from '/contract/formats/websocket.js' */

export class Client extends FeedClient {
  /** @type {WebSocket | null} */
  #socket = null;
  /** @type {import('./client.js').Span | null} */
  #span = null;
  #refs = 0;
  /** Publishes waiting for their answer frame, by ref. @type {Map<string, { resolve: (id: number) => void, reject: (error: Error) => void }>} */
  #pending = new Map();

  connect() {
    const socket = new WebSocket(this.url().replace(/^http/, 'ws'));
    this.#socket = socket;
    this.#span = this.spanStart('connection');
    socket.onopen = () => this.opened();
    socket.onmessage = (event) => {
      const frame = parseServerFrame(event.data);
      if (frame.kind === 'answer') this.#answer(frame.answer);
      else this.receiveItem(frame);
    };
    socket.onclose = (event) => {
      if (this.#span) this.spanEnd(this.#span);
      for (const [ref, pending] of this.#pending) {
        this.#pending.delete(ref);
        pending.reject(
          new Error('the connection closed before the server answered; the message may or may not be stored'),
        );
      }
      if (this.#socket !== socket) return; // closed on purpose
      // 1006 is all a page learns of a refused handshake too (a 426 from a proxy that
      // stripped Upgrade, a 403): the browser keeps the HTTP status from scripts.
      this.log(
        event.code === 1006
          ? 'closed: 1006, no close frame (a refused handshake looks the same: the browser shows its HTTP status in the console, never to the page)'
          : `closed: ${event.code} ${event.reason}`,
      );
      this.retry();
    };
  }

  /**
   * Publishes over this connection. Resolves with the id the server stored it as (its
   * `ack`), rejects with the server's reason (its `error` frame); null when not open.
   * @param {string} author @param {string} text
   * @returns {Promise<number> | null}
   */
  publish(author, text) {
    if (this.#socket?.readyState !== WebSocket.OPEN) return null;
    this.#refs += 1;
    const ref = String(this.#refs);
    this.#socket.send(websocketFrames.publish({ author, text, ref }));
    this.sent();
    return new Promise((resolve, reject) => this.#pending.set(ref, { resolve, reject }));
  }

  /** The answer to one publish, matched by its `ref`. @param {PublishAnswer} answer */
  #answer(answer) {
    this.log(answer.type === 'ack' ? `ack: stored as #${answer.id}` : `error frame: ${answer.message}`);
    if (answer.ref === undefined) return;
    const pending = this.#pending.get(answer.ref);
    if (!pending) return;
    this.#pending.delete(answer.ref);
    if (answer.type === 'ack') pending.resolve(answer.id);
    else pending.reject(new Error(answer.message));
  }

  disconnect() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
  }
}

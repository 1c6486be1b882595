// WebSocket: one upgraded connection, frames both ways. Messages arrive as JSON frames;
// every other frame has a `type`. This client can also publish on the same connection.
import { FeedClient } from './client.js';

export class WebSocketClient extends FeedClient {
  technique = 'websocket';
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
      const frame = JSON.parse(event.data);
      if (!('type' in frame)) this.receive(frame);
      else if (frame.type === 'ack' || frame.type === 'error') this.#answer(frame);
      else this.control(frame);
    };
    socket.onclose = (event) => {
      if (this.#span) this.spanEnd(this.#span);
      for (const [ref, pending] of this.#pending) {
        this.#pending.delete(ref);
        pending.reject(new Error('the connection closed before the server answered; the message may or may not be stored'));
      }
      if (this.#socket !== socket) return; // closed on purpose
      this.log(`closed: ${event.code} ${event.reason}`);
      this.retry();
    };
  }

  /**
   * Publishes over this connection. Resolves with the id the server stored it as (its
   * `ack`), rejects with the server's reason (its `error` frame); null when not open.
   * @returns {Promise<number> | null}
   */
  publish(author = '', text = '') {
    if (this.#socket?.readyState !== WebSocket.OPEN) return null;
    this.#refs += 1;
    const ref = String(this.#refs);
    this.#socket.send(JSON.stringify({ type: 'publish', author, text, ref }));
    return new Promise((resolve, reject) => this.#pending.set(ref, { resolve, reject }));
  }

  /** An `ack` or `error` frame: the answer to one publish, matched by its `ref`. @param {any} frame */
  #answer(frame) {
    this.log(frame.type === 'ack' ? `ack: stored as #${frame.id}` : `error frame: ${frame.message}`);
    const pending = this.#pending.get(frame.ref);
    if (!pending) return;
    this.#pending.delete(frame.ref);
    if (frame.type === 'ack') pending.resolve(frame.id);
    else pending.reject(new Error(frame.message));
  }

  disconnect() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
  }
}

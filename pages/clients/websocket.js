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

  connect() {
    const socket = new WebSocket(this.url().replace(/^http/, 'ws'));
    this.#socket = socket;
    this.#span = this.spanStart('connection');
    socket.onopen = () => this.opened();
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (!('type' in frame)) this.receive(frame);
      else if (frame.type === 'ack') this.log(`ack: stored as #${frame.id}`);
      else if (frame.type === 'error') this.log(`error frame: ${frame.message}`);
      else this.control(frame);
    };
    socket.onclose = (event) => {
      if (this.#span) this.spanEnd(this.#span);
      if (this.#socket !== socket) return; // closed on purpose
      this.log(`closed: ${event.code} ${event.reason}`);
      this.retry();
    };
  }

  /** Publishes over this connection; false when it is not open. */
  publish(author = '', text = '') {
    if (this.#socket?.readyState !== WebSocket.OPEN) return false;
    this.#refs += 1;
    this.#socket.send(JSON.stringify({ type: 'publish', author, text, ref: String(this.#refs) }));
    return true;
  }

  disconnect() {
    const socket = this.#socket;
    this.#socket = null;
    socket?.close();
  }
}

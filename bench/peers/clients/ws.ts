/** The `ws` peer's client: ws's own WebSocket, on `/ws`. */
import { WebSocket } from 'ws';
import type { PeerClient } from './common.ts';

export const wsClient: PeerClient = {
  client: 'ws (its WebSocket client)',
  connect(context, hooks) {
    const socket = new WebSocket(`${context.baseUrl.replace(/^http/, 'ws')}/ws`);
    socket.on('open', () => hooks.open());
    socket.on('message', (data) => hooks.message(data.toString()));
    socket.on('error', (error) => hooks.fail(error));
    socket.on('close', () => hooks.fail(new Error('closed')));
    return { close: () => socket.terminate() };
  },
};

/**
 * The client of every peer that speaks plain WebSocket (RFC 6455, no protocol of its own
 * on top): ws's WebSocket, the one realtime-lab's own WebSocket row is measured with, so
 * that a delay compares servers and not client libraries. It connects to the URL the
 * server names in `/api/health` as `websocket` (nodejs-websocket's second port), else to
 * `/ws` (the `ws` peer).
 */
import { WebSocket } from 'ws';
import type { PeerClient } from './common.ts';

export const wsClient: PeerClient = {
  client: 'ws (its WebSocket client)',
  connect(context, hooks) {
    const named = context.health.websocket;
    const url = typeof named === 'string' ? named : `${context.baseUrl.replace(/^http/, 'ws')}/ws`;
    const socket = new WebSocket(url);
    socket.on('open', () => hooks.open());
    socket.on('message', (data) => hooks.message(data.toString()));
    socket.on('error', (error) => hooks.fail(error));
    socket.on('close', () => hooks.fail(new Error('closed')));
    return { close: () => socket.terminate() };
  },
};

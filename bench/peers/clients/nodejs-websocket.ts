/** The nodejs-websocket peer's client: the library's own `connect`, on the port `/api/health` names. */
import ws from 'nodejs-websocket';
import type { PeerClient } from './common.ts';

export const nodejsWebsocketClient: PeerClient = {
  client: 'nodejs-websocket (its own client)',
  connect(context, hooks) {
    const url = context.health.websocket;
    if (typeof url !== 'string') throw new Error('the nodejs-websocket peer names no websocket URL in /api/health');
    const conn = ws.connect(url, () => hooks.open());
    conn.on('text', (text) => hooks.message(text));
    conn.on('error', (error) => hooks.fail(error));
    conn.on('close', () => hooks.fail(new Error('closed')));
    return { close: () => conn.close() };
  },
};

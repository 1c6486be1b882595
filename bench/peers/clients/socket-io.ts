/**
 * The socket.io peers' client: socket.io-client with one transport, a Manager of its own
 * per subscriber (`forceNew`: by default every `io(url)` to one server shares one
 * connection, which would make a hundred subscribers one).
 */
import { io } from 'socket.io-client';
import type { FeedMessage } from '../../delivery.ts';
import type { PeerClient } from './common.ts';

export function socketIoClient(transport: 'polling' | 'websocket'): PeerClient {
  return {
    client: `socket.io-client (transports: ['${transport}'])`,
    connect(context, hooks) {
      const socket = io(context.baseUrl, { transports: [transport], forceNew: true });
      socket.on('connect', () => hooks.open());
      socket.on('message', (message: FeedMessage) => hooks.message(message));
      socket.on('connect_error', (error) => hooks.fail(error));
      socket.on('disconnect', (reason) => hooks.fail(new Error(`disconnected: ${reason}`)));
      return { close: () => socket.disconnect() };
    },
  };
}

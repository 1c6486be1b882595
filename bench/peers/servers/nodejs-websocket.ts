/**
 * The nodejs-websocket peer, the library the tutorials use: its own TCP server (it does
 * not attach to an HTTP server) on a second port, which `/api/health` names as
 * `websocket`, broadcasting with `sendText` to each of `server.connections`, as its
 * samples do.
 */
import ws from 'nodejs-websocket';
import { exitOnSignal, peerHttp } from './common.ts';

const server = ws.createServer((conn) => {
  // A client that goes away mid-write is an error event; without a listener it would end the process.
  conn.on('error', () => undefined);
});
const http = peerHttp((json) => {
  for (const conn of server.connections) conn.sendText(json);
});
http.meter.watch(server.socket);
exitOnSignal();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
const address = server.socket.address();
if (address === null || typeof address === 'string') throw new Error('nodejs-websocket: no TCP address');
http.health.websocket = `ws://127.0.0.1:${address.port}/`;
await http.listen('nodejs-websocket peer');

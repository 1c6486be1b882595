/**
 * The socket.io peer: a socket.io Server on the bench's HTTP server with one transport
 * only (SOCKET_IO_TRANSPORT: polling or websocket, so that each is measured apart, with
 * no upgrade), broadcasting each message with `io.emit`, as its docs' chat does.
 */
import { Server } from 'socket.io';
import { exitOnSignal, peerHttp } from './common.ts';

const transport = process.env.SOCKET_IO_TRANSPORT;
if (transport !== 'polling' && transport !== 'websocket') {
  console.error(`SOCKET_IO_TRANSPORT must be polling or websocket, got ${JSON.stringify(transport)}`);
  process.exit(2);
}
let io: Server | null = null;
// The object, not its JSON: socket.io encodes a broadcast once, for every client, itself.
const http = peerHttp((_json, message) => io?.emit('message', message));
io = new Server(http.server, { transports: [transport], serveClient: false });
exitOnSignal();
await http.listen(`socket.io ${transport} peer`);

/**
 * The `ws` peer: a WebSocketServer on the bench's HTTP server, broadcasting each message
 * the way ws's README shows ("Server broadcast"): every client that is OPEN, `send`.
 * Run as `node --import tsx bench/peers/servers/ws.ts` (PORT=0: any port).
 */
import { WebSocket, WebSocketServer } from 'ws';
import { exitOnSignal, peerHttp } from './common.ts';

const wss = new WebSocketServer({ noServer: true });
const http = peerHttp((json) => {
  for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(json);
});
http.server.on('upgrade', (req, socket, head) => {
  if (req.url !== '/ws') return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
exitOnSignal();
await http.listen('ws peer');

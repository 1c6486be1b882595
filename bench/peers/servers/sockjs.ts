/**
 * The SockJS peer: one sockjs server under /sockjs on the bench's HTTP server, every
 * transport on (the client picks one: websocket, xhr-streaming, eventsource, htmlfile,
 * xhr-polling). sockjs has no broadcast of its own: its docs keep the connections and
 * `write` to each, as here.
 */
import sockjs from 'sockjs';
import { exitOnSignal, peerHttp } from './common.ts';

const connections = new Set<sockjs.Connection>();
const service = sockjs.createServer({ prefix: '/sockjs', log: () => undefined });
service.on('connection', (conn) => {
  connections.add(conn);
  conn.on('close', () => connections.delete(conn));
});
const http = peerHttp((json) => {
  for (const conn of connections) conn.write(json);
});
service.installHandlers(http.server);
exitOnSignal();
await http.listen('sockjs peer');

/**
 * The better-sse peer: `GET /events` makes a session and registers it on one channel;
 * each message goes out with `channel.broadcast`, as better-sse's docs show.
 */
import { createChannel, createSession } from 'better-sse';
import { exitOnSignal, peerHttp } from './common.ts';

const channel = createChannel();
const http = peerHttp(
  (_json, message) => channel.broadcast(message, 'message'),
  (req, res) => {
    if (req.method !== 'GET' || req.url !== '/events') return false;
    createSession(req, res).then(
      (session) => channel.register(session),
      () => res.destroy(),
    );
    return true;
  },
);
exitOnSignal();
await http.listen('better-sse peer');

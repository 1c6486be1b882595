/**
 * The SockJS peer's clients: sockjs-client itself with a one-transport whitelist where it
 * runs in Node (websocket, xhr-streaming, eventsource, xhr-polling), and for htmlfile,
 * which needs a browser's document and iframe (sockjs-client in Node says "All transports
 * failed"), a raw client of that transport: one `node:http` GET of
 * `/sockjs/<server>/<session>/htmlfile?c=<callback>`, reading the `<script>p("…");</script>`
 * chunks it streams as a hidden iframe would.
 */
import { type ClientRequest, request } from 'node:http';
import { randomBytes } from 'node:crypto';
import SockJS from 'sockjs-client';
import type { PeerClient } from './common.ts';

export type SockjsTransport = 'websocket' | 'xhr-streaming' | 'eventsource' | 'htmlfile' | 'xhr-polling';

export function sockjsClient(transport: SockjsTransport): PeerClient {
  if (transport === 'htmlfile') return htmlfileClient;
  return {
    client: `sockjs-client (transports: ['${transport}'])`,
    connect(context, hooks) {
      const sock = new SockJS(`${context.baseUrl}/sockjs`, null, { transports: [transport] });
      sock.onopen = () => hooks.open();
      sock.onmessage = (event) => hooks.message(event.data as string);
      sock.onclose = (event) => hooks.fail(new Error(`closed ${event.code} ${event.reason}`));
      return { close: () => sock.close() };
    },
  };
}

/** One frame: `<script>\np("…");\n</script>\r\n`, its argument a JSON string holding a SockJS frame. */
const SCRIPT_FRAME = /<script>\np\(("(?:[^"\\]|\\.)*")\);\n<\/script>\r\n/g;

const htmlfileClient: PeerClient = {
  client: 'a raw SockJS htmlfile client (node:http; sockjs-client needs a browser for it)',
  connect(context, hooks) {
    const server = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
    const session = randomBytes(8).toString('hex');
    let closed = false;
    const req: ClientRequest = request(`${context.baseUrl}/sockjs/${server}/${session}/htmlfile?c=_bench`, (res) => {
      if (res.statusCode !== 200) {
        hooks.fail(new Error(`htmlfile answered ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding('utf8');
      let buffered = '';
      res.on('data', (text: string) => {
        buffered += text;
        let end = 0;
        for (const match of buffered.matchAll(SCRIPT_FRAME)) {
          end = (match.index ?? 0) + match[0].length;
          frame(JSON.parse(match[1] as string) as string);
        }
        if (end > 0) buffered = buffered.slice(end);
      });
      res.on('end', () => closed || hooks.fail(new Error('the htmlfile response ended')));
    });
    req.on('error', (error) => closed || hooks.fail(error));
    req.end();
    // SockJS frames: o open, h heartbeat, a["…",…] messages, c[code,"reason"] close.
    const frame = (data: string) => {
      if (data === 'o') hooks.open();
      else if (data.startsWith('a'))
        for (const message of JSON.parse(data.slice(1)) as string[]) hooks.message(message);
      else if (data.startsWith('c')) hooks.fail(new Error(`closed: ${data.slice(1)}`));
    };
    return {
      close: () => {
        closed = true;
        req.destroy();
      },
    };
  },
};

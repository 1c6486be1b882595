/**
 * The bare broadcast server (server.ts) as a process of its own, the way
 * bench/server-process.ts starts realtime-lab's: PORT and HOST from the environment
 * (default a free port on 127.0.0.1), `serving http://HOST:PORT/` on stdout once it
 * listens, and a clean exit on SIGTERM or SIGINT.
 */
import { startBareServer } from './server.ts';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`bare server: PORT must be 0..65535, got ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}
const server = await startBareServer(port, host);
process.stdout.write(`bare broadcast server serving ${server.url}/\n`);
const stop = () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

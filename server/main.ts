/**
 * `npm start`: reads the configuration from the environment, serves the API and the
 * pages, and shuts down cleanly on SIGINT/SIGTERM (every stream told, every long poll
 * answered, every WebSocket closed with 1001).
 */
import { networkInterfaces } from 'node:os';
import { buildApp } from './app.ts';
import { type Config, ConfigError, loadConfig } from './config.ts';
import { INTERMEDIARIES } from '../bench/network/intermediaries.ts';
import { describeIntermediary, intermediaryInFront, intermediaryOf } from './intermediary.ts';
import { describeShapedNetwork, type ShapedNetwork, shapeInFront, shapedNetworkOf } from './network.ts';
import { redact } from './redact.ts';
import { describeCertificate } from './tls.ts';
import { transports } from './transports/index.ts';

/** If a clean shutdown takes longer than this, ms, the process exits anyway. */
const SHUTDOWN_DEADLINE_MS = 5000;

const USAGE = `usage: npm start [-- --feed memory|redis://host:port[/db]] [--tls] [--network PROFILE] [--intermediary NAME[=VALUE]]

Serves the demo pages and the API. Every setting is an environment variable (see
docs/configuration.md); --feed is the same as FEED. --tls (or TLS=1) serves HTTPS
with HTTP/2 and HTTP/1.1 on the same port, WebSockets over wss://, with the
certificate TLS_CERT and TLS_KEY name or a development one made in .certs/
(docs/http2.md). --network (or NETWORK) serves them
through a shaping proxy with a profile's round trip, bandwidth, loss and jitter:
lan, good-mobile, poor-mobile, satellite (docs/bench.md, "Network conditions").
--intermediary (or INTERMEDIARY) serves them through a hostile intermediary, in front
of the network if both are given: ${Object.keys(INTERMEDIARIES)
  .filter((name) => name !== 'none')
  .join(', ')} (docs/intermediaries.md).`;

/** The command line: --feed, --tls, --network and --intermediary (the same as FEED, TLS, NETWORK and INTERMEDIARY) and --help. */
function argumentsOf(argv: string[]): Record<string, string> {
  const overrides: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    }
    if (arg === '--tls') {
      overrides.TLS = '1';
      continue;
    }
    const inline = /^--(feed|network|intermediary)=(.*)$/.exec(arg);
    const flag = /^--(feed|network|intermediary)$/.exec(arg);
    if (inline) overrides[(inline[1] as string).toUpperCase()] = inline[2] as string;
    else if (flag && argv[i + 1] !== undefined) {
      i += 1;
      overrides[(flag[1] as string).toUpperCase()] = argv[i] as string;
    } else {
      console.error(`realtime-lab: unknown argument ${JSON.stringify(arg)}\n\n${USAGE}`);
      process.exit(2);
    }
  }
  return overrides;
}

async function main(): Promise<void> {
  let config: Config;
  let network: ShapedNetwork | null;
  let intermediary: ReturnType<typeof intermediaryOf>;
  try {
    const env = { ...process.env, ...argumentsOf(process.argv.slice(2)) };
    config = loadConfig(env);
    network = shapedNetworkOf(env.NETWORK);
    intermediary = intermediaryOf(env.INTERMEDIARY);
    if (config.tls && intermediary)
      throw new ConfigError(
        'TLS and an intermediary do not go together: the intermediaries are plain-text HTTP/1.1 proxies (a shaping --network is fine: it forwards TCP)',
      );
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RangeError) {
      console.error(`realtime-lab: bad configuration: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }

  const { app, feed, farewell, certificate } = await buildApp({ config });
  let publicPort = config.port;
  try {
    // Fastify answers HOST=localhost with a second server for the other address family,
    // made behind the app's back: the connection guard (connections.ts) would not see its
    // connections. 127.0.0.1 is what a browser reaches for localhost when ::1 refuses.
    const host = config.host === 'localhost' ? '127.0.0.1' : config.host;
    const inFront = network !== null || intermediary !== null;
    // With anything in front, the app is reached only through it, which takes its address
    // and port: client → intermediary → shaper → app.
    await app.listen(inFront ? { port: 0, host: '127.0.0.1' } : { port: config.port, host });
    const appAddress = app.server.address();
    const appPort = typeof appAddress === 'object' && appAddress ? appAddress.port : 0;
    let next = { host: '127.0.0.1', port: appPort };
    let nextDescribed = `the app itself, unshaped, on http://127.0.0.1:${appPort}/`;
    if (network) {
      const shaper = await shapeInFront(
        network,
        appPort,
        intermediary ? { host: '127.0.0.1', port: 0 } : { host, port: config.port },
      );
      console.log(`realtime-lab: ${describeShapedNetwork(network, appPort)}`);
      next = { host: '127.0.0.1', port: shaper.port };
      nextDescribed = `the shaper on 127.0.0.1:${shaper.port}, in front of ${nextDescribed}`;
      publicPort = shaper.port;
    }
    if (intermediary) {
      const running = await intermediaryInFront(intermediary, next, { host, port: config.port });
      for (const line of describeIntermediary(intermediary, nextDescribed, config))
        console.log(`realtime-lab: ${line}`);
      publicPort = Number(new URL(running.url).port);
    }
    if (inFront && (host === '0.0.0.0' || host === '::'))
      console.log(
        'realtime-lab: through a proxy, every client reaches the app from 127.0.0.1: MAX_CONNECTIONS_PER_ADDRESS counts them together',
      );
    if (!inFront) {
      const address = app.server.address();
      publicPort = typeof address === 'object' && address ? address.port : config.port;
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'EADDRINUSE' ? ` (port ${config.port} is taken: set PORT to another one)` : '';
    console.error(`realtime-lab: cannot listen on ${config.host}:${config.port}${hint}: ${(error as Error).message}`);
    process.exit(1);
  }
  const port = publicPort;
  const everywhere = config.host === '0.0.0.0' || config.host === '::';
  const shown = everywhere ? 'localhost' : config.host;
  const scheme = certificate ? 'https' : 'http';
  console.log(`realtime-lab: serving ${scheme}://${shown}:${port}/ (${transports.map((t) => t.id).join(', ')})`);
  if (certificate)
    for (const line of describeCertificate(certificate, `https://${shown}:${port}/`))
      console.log(`realtime-lab: ${line}`);
  if (config.feed !== 'memory') {
    const health = feed.health();
    console.log(
      `realtime-lab: feed on ${redact(config.feed)}${health.ok ? '' : `, unhealthy for now: ${health.reason}`}`,
    );
  }
  if (everywhere) {
    // What a classroom types: this machine's addresses on its networks.
    for (const address of Object.values(networkInterfaces()).flat()) {
      if (address && address.family === 'IPv4' && !address.internal)
        console.log(`realtime-lab: on the network: ${scheme}://${address.address}:${port}/`);
    }
    // The Host check answers to these addresses by itself; a name needs saying.
    if (config.allowedHosts.length === 0)
      console.log('realtime-lab: reached by a name (a DNS or .local name, a proxy)? list it in ALLOWED_HOSTS');
  }

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`realtime-lab: ${signal}: closing connections`);
    setTimeout(() => {
      console.error('realtime-lab: shutdown took too long; exiting anyway');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS).unref();
    // Not app.close(): once every client has been told and every answer has left, all that
    // remains is to close the sockets, which the kernel does as the process exits, each
    // after its last bytes. Node closing them one by one takes longer than telling them
    // all, with thousands of clients; the feed's Redis connections close the same way.
    farewell().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('realtime-lab: error while closing', error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

await main();

/**
 * DNS rebinding: a page on evil.example whose name is made to resolve to this server is,
 * to the browser, same-origin with every answer it gets. Only the Host header tells the
 * server which name the page used, so every request must name one the server answers to
 * (localhost, its loopback and connected addresses, HOST, ALLOWED_HOSTS), checked before
 * anything else: pages, the API, WebSocket upgrades.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { hostname, networkInterfaces } from 'node:os';
import { type TestContext, test } from 'node:test';
import WebSocket from 'ws';
import { type AppOptions, buildApp } from './app.ts';
import { startServer } from '../test/support.ts';

interface RawAnswer {
  status: number;
  headers: string;
  body: string;
}

/** Sends one request exactly as written (`connection: close` so the answer ends) and reads the answer. */
async function raw(port: number, request: string, address = '127.0.0.1'): Promise<RawAnswer> {
  const socket = net.connect({ port, host: address });
  await once(socket, 'connect');
  socket.write(request);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  await once(socket, 'close');
  const [head = '', ...rest] = data.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  return { status, headers: head, body: rest.join('\r\n\r\n') };
}

/** A GET naming `host` (or no Host at all when it is null). */
const get = (path: string, host: string | null, extra = '', version = '1.1') =>
  `GET ${path} HTTP/${version}\r\n${host === null ? '' : `Host: ${host}\r\n`}${extra}Connection: close\r\n\r\n`;

/** The status a `ws` handshake got: 101 when the socket opened, else the refusal's. */
async function handshake(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const socket = new WebSocket(url, { headers });
  socket.on('error', () => undefined);
  const outcome = await Promise.race([
    once(socket, 'open').then(() => ({ status: 101, body: '' })),
    once(socket, 'unexpected-response').then(async (args) => {
      const response = args[1] as import('node:http').IncomingMessage;
      let body = '';
      for await (const chunk of response) body += chunk;
      return { status: response.statusCode ?? 0, body };
    }),
  ]);
  socket.terminate();
  return outcome;
}

/** A server listening on `host` (the tests' usual helper listens on 127.0.0.1 only). */
async function listenOn(t: TestContext, host: string, options: AppOptions = {}): Promise<number> {
  const lab = await buildApp({ ...options, config: { logLevel: 'silent', ...options.config, host } });
  await lab.app.listen({ port: 0, host });
  t.after(() => lab.app.close());
  const address = lab.app.server.address();
  assert.ok(typeof address === 'object' && address);
  return address.port;
}

test('a rebinding name is refused with 421 before anything else: pages, the API, publishing, a WebSocket handshake', async (t) => {
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);
  const evil = `evil.example:${port}`;
  const origin = `Origin: http://${evil}\r\n`;

  for (const path of ['/', '/api/health', '/api/stats', '/api/short-polling?since=0', '/no-such-page']) {
    const answer = await raw(port, get(path, evil, origin));
    assert.equal(answer.status, 421, path);
    const body = JSON.parse(answer.body) as { code: string; error: string; message: string };
    assert.equal(body.code, 'RTL_MISDIRECTED_HOST', path);
    assert.equal(body.error, 'Misdirected Request');
    assert.match(body.message, /"evil\.example".*ALLOWED_HOSTS/);
  }
  const json = '{"author":"eve","text":"rebound"}';
  const publish = await raw(
    port,
    `POST /api/messages HTTP/1.1\r\nHost: ${evil}\r\n${origin}Content-Type: application/json\r\nContent-Length: ${json.length}\r\nConnection: close\r\n\r\n${json}`,
  );
  assert.equal(publish.status, 421);
  assert.equal(server.feed.lastId, 0, 'nothing was published');

  const socket = await handshake(`ws://127.0.0.1:${port}/api/websocket?since=0`, {
    host: evil,
    origin: `http://${evil}`,
  });
  assert.equal(socket.status, 421);
  assert.equal((JSON.parse(socket.body) as { code: string }).code, 'RTL_MISDIRECTED_HOST');
  assert.equal(server.feed.listenerCount, 0);
});

test('localhost, 127.0.0.1, [::1] and a name in ALLOWED_HOSTS pass, on any port', async (t) => {
  const server = await startServer(t, { config: { allowedHosts: ['lab.example.org'] } });
  const port = Number(new URL(server.url).port);
  for (const host of ['localhost', '127.0.0.1', '[::1]', 'lab.example.org', 'LOCALHOST', 'Lab.Example.Org']) {
    for (const name of [host, `${host}:${port}`, `${host}:8080`]) {
      assert.equal((await raw(port, get('/api/health', name))).status, 200, name);
    }
  }
  // Near misses of an allowed name are other names.
  for (const host of [
    'localhost.',
    'lab.localhost',
    'evil.lab.example.org',
    'lab.example.org.evil.example',
    '0.0.0.0',
    '192.0.2.1',
  ]) {
    assert.equal((await raw(port, get('/api/health', `${host}:${port}`))).status, 421, host);
  }
});

test('same origin means the checked Host: the WebSocket Origin check and CORS', async (t) => {
  const server = await startServer(t, { config: { allowedHosts: ['lab.example.org'] } });
  const port = Number(new URL(server.url).port);
  const url = `ws://127.0.0.1:${port}/api/websocket`;
  for (const host of [`localhost:${port}`, `lab.example.org:${port}`]) {
    assert.equal((await handshake(url, { host, origin: `http://${host}` })).status, 101, host);
  }
  // The port is part of the origin: another local server's page is another site.
  assert.equal((await handshake(url, { host: `localhost:${port}`, origin: 'http://localhost:5173' })).status, 403);
  const preflight = await raw(
    port,
    `OPTIONS /api/messages HTTP/1.1\r\nHost: localhost:${port}\r\nOrigin: http://localhost:5173\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n`,
  );
  assert.equal(preflight.status, 403);
});

test('with HOST=0.0.0.0, each address of this machine passes when a client reaches the server on it', async (t) => {
  const port = await listenOn(t, '0.0.0.0');
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter((address) => address?.family === 'IPv4')
    .map((address) => address?.address as string);
  assert.ok(addresses.length >= 1);
  for (const address of addresses) {
    assert.equal((await raw(port, get('/api/health', `${address}:${port}`), address)).status, 200, address);
    assert.equal((await raw(port, get('/api/health', `evil.example:${port}`), address)).status, 421, address);
  }
  // The page a classroom opens, over a real WebSocket to the teacher's address.
  const [teacher = '127.0.0.1'] = addresses.filter((address) => address !== '127.0.0.1');
  const socket = new WebSocket(`ws://${teacher}:${port}/api/websocket`, { origin: `http://${teacher}:${port}` });
  await once(socket, 'open');
  socket.close();
});

const noIpv6 =
  !Object.values(networkInterfaces())
    .flat()
    .some((address) => address?.family === 'IPv6') && 'this machine has no IPv6';

test('with HOST=::, IPv4 and IPv6 addresses of this machine pass, each on the address it names', {
  skip: noIpv6,
}, async (t) => {
  const port = await listenOn(t, '::');
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    for (const address of addresses ?? []) {
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      // A link-local address is reached through its interface (fe80::1%eth0); the zone is no part of Host.
      const target = address.address.startsWith('fe80:') ? `${address.address}%${name}` : address.address;
      assert.equal((await raw(port, get('/api/health', `${host}:${port}`), target)).status, 200, host);
    }
  }
});

test('an address is accepted only on the connection that reached it: HOST=127.0.0.1 refuses a LAN address', async (t) => {
  const port = await listenOn(t, '127.0.0.1');
  assert.equal((await raw(port, get('/api/health', `192.0.2.7:${port}`))).status, 421);
});

// The machine's own name, where it resolves (Debian's /etc/hosts usually maps it).
const MACHINE_NAME = hostname().toLowerCase();
const machineNameMissing = await lookup(MACHINE_NAME).then(
  () => false,
  () => `${MACHINE_NAME} does not resolve here`,
);

test('a configured HOST name passes, and only while it is HOST', { skip: machineNameMissing }, async (t) => {
  const port = await listenOn(t, MACHINE_NAME);
  const { address } = await lookup(MACHINE_NAME);
  assert.equal((await raw(port, get('/api/health', `${MACHINE_NAME}:${port}`), address)).status, 200);
  const other = await listenOn(t, address);
  assert.equal((await raw(other, get('/api/health', `${MACHINE_NAME}:${other}`), address)).status, 421);
});

test('no Host: an HTTP/1.0 request passes, an HTTP/1.1 one gets 400 in the JSON shape; two Hosts or a malformed one get 400', async (t) => {
  const server = await startServer(t);
  const port = Number(new URL(server.url).port);
  assert.equal((await raw(port, get('/api/health', null, '', '1.0'))).status, 200);

  const missing = await raw(port, get('/api/health', null));
  assert.equal(missing.status, 400);
  assert.equal((JSON.parse(missing.body) as { code: string }).code, 'RTL_BAD_HOST');
  const upgrade = await raw(
    port,
    'GET /api/websocket HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  assert.equal(upgrade.status, 400, 'a handshake without Host, which Node does not check');

  const twice = await raw(port, get('/api/health', 'localhost', `Host: evil.example\r\n`));
  assert.equal(twice.status, 400);
  assert.match((JSON.parse(twice.body) as { message: string }).message, /2 Host headers/);
  for (const host of ['evil.example@localhost', 'localhost/x', 'localhost:port', '[::1', 'local host']) {
    const answer = await raw(port, get('/api/health', host));
    assert.equal(answer.status, 400, host);
    assert.equal((JSON.parse(answer.body) as { code: string }).code, 'RTL_BAD_HOST', host);
  }
});

import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { test } from 'node:test';
import { FaultProxy } from './fault-proxy.ts';

/** An echo server behind a fault proxy, and a client connected through it. */
async function setup(t: import('node:test').TestContext) {
  const serverSide: Socket[] = [];
  const echo = createServer((socket) => {
    serverSide.push(socket);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  const address = echo.address();
  assert.ok(address && typeof address === 'object');
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: address.port });
  const client = connect(proxy.port, '127.0.0.1');
  client.setEncoding('utf8');
  await once(client, 'connect');
  t.after(async () => {
    client.destroy();
    await proxy.close();
    echo.close();
  });
  return { proxy, client, serverSide };
}

test('the proxy forwards both ways until told otherwise', async (t) => {
  const { client } = await setup(t);
  client.write('hello');
  const [data] = await once(client, 'data');
  assert.equal(data, 'hello');
});

test('a reset cut gives the client ECONNRESET; a close cut an orderly end', async (t) => {
  const { proxy, client } = await setup(t);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const [connection] = proxy.connections;
  assert.ok(connection);
  proxy.cut(connection, 'reset');
  const [error] = await once(client, 'error');
  assert.equal((error as NodeJS.ErrnoException).code, 'ECONNRESET');
  assert.equal(proxy.stats.cut, 1);

  const second = await setup(t);
  await new Promise((resolve) => setTimeout(resolve, 20));
  second.proxy.cut(second.proxy.connections[0] as never, 'close');
  second.client.resume();
  await once(second.client, 'end');
});

test('a blackholed connection passes nothing and closes nothing', async (t) => {
  const { proxy, client, serverSide } = await setup(t);
  await new Promise((resolve) => setTimeout(resolve, 20));
  proxy.blackhole(proxy.connections[0] as never);
  let received = '';
  client.on('data', (text: string) => (received += text));
  let closed = false;
  client.on('close', () => (closed = true));
  client.write('anyone there?');
  serverSide[0]?.write('from the server');
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(received, '');
  assert.equal(closed, false);
  assert.equal(serverSide[0]?.destroyed, false);
});

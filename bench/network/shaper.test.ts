import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type NetworkConditions, ShapingProxy, retransmissionTimeoutMs } from './shaper.ts';

/** An echo server on loopback: every byte comes straight back. */
let echo: Server;
let echoPort: number;
/** A sink: reads everything, says nothing. */
let sink: Server;
let sinkPort: number;
const sinkReceived = new Map<Socket, number[]>();

before(async () => {
  echo = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  sink = createServer((socket) => {
    socket.on('error', () => undefined);
    // Each chunk's arrival time and size: [t, bytes, t, bytes, ...].
    const arrivals: number[] = [];
    sinkReceived.set(socket, arrivals);
    socket.on('data', (chunk: Buffer) => arrivals.push(performance.now(), chunk.length));
  });
  for (const server of [echo, sink]) {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  }
  echoPort = (echo.address() as { port: number }).port;
  sinkPort = (sink.address() as { port: number }).port;
});

after(() => {
  echo.close();
  sink.close();
});

async function through(conditions: NetworkConditions, port = echoPort, seed = 13): Promise<ShapingProxy> {
  return ShapingProxy.start({ target: { host: '127.0.0.1', port }, conditions, seed });
}

async function connected(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', noDelay: true });
  await once(socket, 'connect');
  return socket;
}

/** `count` ping-pongs of a few bytes, one at a time: each one's round trip, ms. */
async function pingPongs(socket: Socket, count: number): Promise<number[]> {
  const trips: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const sent = performance.now();
    socket.write('ping');
    let got = 0;
    while (got < 4) got += ((await once(socket, 'data'))[0] as Buffer).length;
    trips.push(performance.now() - sent);
  }
  return trips;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** Loopback's own round trip, straight to the echo server, measured in this run. */
async function loopbackRttMs(): Promise<number> {
  const socket = await connected(echoPort);
  try {
    await pingPongs(socket, 5);
    return median(await pingPongs(socket, 30));
  } finally {
    socket.destroy();
  }
}

describe('the shaping proxy', () => {
  for (const rttMs of [0, 40, 150]) {
    test(`small ping-pongs take the configured round trip (${rttMs} ms) plus loopback's`, async (t) => {
      const proxy = await through({ rttMs });
      const socket = await connected(proxy.port);
      t.after(async () => {
        socket.destroy();
        await proxy.close();
      });
      await pingPongs(socket, 2);
      const measured = median(await pingPongs(socket, rttMs > 100 ? 12 : 25));
      const baseline = await loopbackRttMs();
      const allowed = Math.max(0.03 * rttMs, 3);
      t.diagnostic(`configured ${rttMs} ms; measured ${measured.toFixed(2)} ms; loopback ${baseline.toFixed(3)} ms`);
      assert.ok(
        Math.abs(measured - baseline - rttMs) <= allowed,
        `measured ${measured.toFixed(2)} ms through the proxy, loopback ${baseline.toFixed(3)} ms: expected ${rttMs} ± ${allowed} ms added`,
      );
    });
  }

  test("a new connection's first exchange costs the handshake's round trip too", async (t) => {
    const rttMs = 60;
    const proxy = await through({ rttMs });
    t.after(() => proxy.close());
    // A first connection warms the paths (the proxy's connect to the target among them).
    const warm = await connected(proxy.port);
    await pingPongs(warm, 1);
    warm.destroy();
    // The quickest of a few fresh connections: a busy machine only ever adds to one.
    const firsts: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const socket = connect({ port: proxy.port, host: '127.0.0.1', noDelay: true });
      t.after(() => socket.destroy());
      // Written at once, as a browser's request follows its connect: it waits for the SYN-ACK.
      socket.write('ping');
      await once(socket, 'data');
      firsts.push(performance.now() - started);
      socket.destroy();
    }
    const first = Math.min(...firsts);
    assert.ok(
      Math.abs(first - 2 * rttMs) <= Math.max(0.03 * 2 * rttMs, 3),
      `first exchange took ${first.toFixed(1)} ms`,
    );
  });

  test('a bulk transfer runs at the configured bandwidth', async (t) => {
    const bandwidthKbit = 4000;
    const proxy = await through({ rttMs: 20, bandwidthKbit }, sinkPort);
    const socket = await connected(proxy.port);
    t.after(async () => {
      socket.destroy();
      await proxy.close();
    });
    const total = 600_000;
    socket.write(Buffer.alloc(total, 0x61));
    const deadline = performance.now() + 10_000;
    // The proxy's connection to the sink is the one opened last.
    const arrivals = () => [...sinkReceived.values()].at(-1) ?? [];
    const received = () => arrivals().reduce((sum, value, i) => (i % 2 === 1 ? sum + value : sum), 0);
    while (received() < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(received(), total, 'every byte arrived');
    // Between the first chunk's arrival and the last, every byte after the first chunk was serialised.
    const [firstAt = 0, firstBytes = 0] = arrivals();
    const lastAt = arrivals().at(-2) as number;
    const kbit = ((total - firstBytes) * 8) / (lastAt - firstAt);
    t.diagnostic(`configured ${bandwidthKbit} kbit/s; measured ${kbit.toFixed(1)} kbit/s`);
    assert.ok(Math.abs(kbit - bandwidthKbit) <= 0.03 * bandwidthKbit, `measured ${kbit.toFixed(1)} kbit/s`);
  });

  test('jitter varies the delay but never reorders bytes', async (t) => {
    const proxy = await through({ rttMs: 40, jitterMs: 15 });
    const socket = await connected(proxy.port);
    t.after(async () => {
      socket.destroy();
      await proxy.close();
    });
    const trips = await pingPongs(socket, 30);
    const spread = Math.max(...trips) - Math.min(...trips);
    assert.ok(spread > 5, `jitter shows in the round trips (spread ${spread.toFixed(1)} ms)`);
    assert.ok(
      Math.min(...trips) >= 40 - 2 * 15 - 1,
      `no trip is shorter than the jitter allows: ${Math.min(...trips)}`,
    );
    // Many small writes, each its own chunk with its own draw: they come back in order.
    let text = '';
    socket.setEncoding('utf8');
    const sent = Array.from({ length: 200 }, (_, i) => `${i};`).join('');
    socket.on('data', (chunk: string) => (text += chunk));
    for (let i = 0; i < 200; i += 1) {
      socket.write(`${i};`);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const deadline = performance.now() + 5000;
    while (text.length < sent.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(text, sent);
  });

  test('loss delays about the configured share of chunks by one retransmission timeout', async (t) => {
    const rttMs = 4;
    const lossPercent = 10;
    const proxy = await through({ rttMs, lossPercent }, echoPort, 7);
    const socket = await connected(proxy.port);
    t.after(async () => {
      socket.destroy();
      await proxy.close();
    });
    const count = 150;
    const rto = retransmissionTimeoutMs(rttMs);
    const trips = await pingPongs(socket, count);
    const slow = trips.filter((trip) => trip > rttMs + rto / 2);
    // Each ping-pong is two chunks, each lost with probability p.
    const p = lossPercent / 100;
    const expected = 1 - (1 - p) ** 2;
    const sd = Math.sqrt((expected * (1 - expected)) / count);
    const share = slow.length / count;
    t.diagnostic(
      `${slow.length} of ${count} ping-pongs slow (expected ${(expected * 100).toFixed(1)}% ± ${(3 * sd * 100).toFixed(1)})`,
    );
    assert.ok(Math.abs(share - expected) <= 3 * sd, `share of slow ping-pongs ${share}`);
    // Every slow trip lost one chunk or both; which, only its timing tells, and a busy
    // machine can stretch a trip of one loss past the line between one RTO and two.
    assert.ok(
      proxy.stats.lost >= slow.length && proxy.stats.lost <= 2 * slow.length,
      `${proxy.stats.lost} lost for ${slow.length} slow trips`,
    );
    const extra = median(slow) - rttMs;
    assert.ok(Math.abs(extra - rto) <= 0.05 * rto, `a lost chunk costs one RTO (${rto} ms): ${extra.toFixed(1)} ms`);
  });

  test('an end travels behind the data, and the other side sees it', async (t) => {
    const proxy = await through({ rttMs: 30 });
    const socket = await connected(proxy.port);
    t.after(() => proxy.close());
    socket.setEncoding('utf8');
    let text = '';
    socket.on('data', (chunk: string) => (text += chunk));
    socket.end('bye');
    await once(socket, 'end');
    assert.equal(text, 'bye');
  });
});

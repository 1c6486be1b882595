import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import { paced, start } from './autocannon.ts';
import { FaultProxy } from './fault-proxy.ts';

/** A server on a free port that answers `{}` at once and notes when each request arrived. */
async function arrivalServer(t: TestContext): Promise<{ arrivals: number[]; address: AddressInfo }> {
  const arrivals: number[] = [];
  const server = createServer((_req, res) => {
    arrivals.push(performance.now());
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return { arrivals, address };
}

test('paced connections send one request per interval each, their phases spread over the interval', async (t) => {
  const { arrivals, address } = await arrivalServer(t);
  const connections = 4;
  const intervalMs = 200;
  const origin = performance.now();
  let next = 0;
  let stopped = false;
  const { instance, done } = start({
    url: `http://127.0.0.1:${address.port}`,
    connections,
    duration: 60,
    setupClient: (client) => paced(client, intervalMs, origin + (next++ * intervalMs) / connections, () => stopped),
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  stopped = true;
  // When it really stopped: a busy machine fires the timer late, and the slots due by
  // then were rightly taken.
  const stoppedAt = performance.now();
  instance.stop();
  await done;
  // 4 connections × the time they ran ÷ 200 ms: 20 at 1000 ms, give or take a slot each.
  const expected = (connections * (stoppedAt - origin)) / intervalMs;
  assert.ok(
    arrivals.length >= expected - 4 && arrivals.length <= expected + 4,
    `${arrivals.length} requests in ${Math.round(stoppedAt - origin)} ms`,
  );
  // Spread, not a burst: the first four arrive about 50 ms apart, not in the same instant.
  const first = arrivals.slice(0, connections);
  assert.ok(
    (first.at(-1) ?? 0) - (first[0] ?? 0) >= 100,
    `the first requests span ${(first.at(-1) ?? 0) - (first[0] ?? 0)} ms`,
  );
  // A request already on its way when stopped may land a moment later; none after that.
  const afterStop = arrivals.filter((at) => at > stoppedAt + 50);
  assert.equal(afterStop.length, 0, 'no request after stop');
});

test('a paced connection asked to ask again at once (a poll answered with more) sends the next request off its grid', async (t) => {
  const { arrivals, address } = await arrivalServer(t);
  const intervalMs = 2000;
  // The first three answers say "more": four requests at once, then the grid again. (Only
  // an answer can say it: the first request takes its slot on the grid, as a poller's does.)
  let answers = 0;
  let stopped = false;
  const { instance, done } = start({
    url: `http://127.0.0.1:${address.port}`,
    connections: 1,
    duration: 60,
    setupClient: (client) => {
      paced(
        client,
        intervalMs,
        performance.now(),
        () => stopped,
        () => answers >= 1 && answers <= 3,
      );
      client.on('response', () => (answers += 1));
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  stopped = true;
  instance.stop();
  await done;
  assert.equal(
    arrivals.length,
    4,
    `${arrivals.length} requests in the first second, at an interval of ${intervalMs} ms`,
  );
  assert.ok((arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0) < 500, 'one after the other, not a slot apart');
});

test('a paced poller cut while it waits for its next slot keeps one request in flight, each with the latest cursor', async (t) => {
  // The server holds every request longer than the interval: a second request sent while
  // the first is held shows as two open at once, both asking from the same cursor.
  const intervalMs = 300;
  const holdMs = 350;
  // The answer lands at +350 ms and the next send waits for the slot at +600 ms: a cut
  // 100 ms after the answer finds the poller between requests, with a send scheduled.
  const cutAfterAnswerMs = 100;
  let open = 0;
  let mostOpen = 0;
  const answeredCursors: number[] = [];
  let proxy: FaultProxy | undefined;
  const cutKinds = ['reset', 'close', 'reset', 'close'] as const;
  let cuts = 0;
  let cursor = 0;
  let cursorAtLastCut = 0;
  const server = createServer((req, res) => {
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    res.on('close', () => (open -= 1));
    const since = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('since'));
    setTimeout(() => {
      if (res.destroyed) return;
      answeredCursors.push(since);
      res.end(JSON.stringify({ cursor: since + 1 }));
      const kind = cutKinds[cuts];
      if (kind === undefined) return;
      setTimeout(() => {
        // Only between requests (this answer in, the next request not sent): a request or
        // an answer cut on its way is legitimately asked again, from the same cursor.
        const connection = proxy?.connections[0];
        if (open === 0 && cursor === since + 1 && connection && cutKinds[cuts] === kind) {
          cuts += 1;
          cursorAtLastCut = cursor;
          proxy?.cut(connection, kind);
        }
      }, cutAfterAnswerMs);
    }, holdMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  proxy = await FaultProxy.start({ host: '127.0.0.1', port: address.port });
  t.after(() => proxy?.close());

  let stopped = false;
  const { instance, done } = start({
    url: proxy.url,
    connections: 1,
    duration: 60,
    timeout: 10,
    setupClient: (client) => {
      paced(client, intervalMs, performance.now(), () => stopped);
      client.setRequests([
        {
          method: 'GET',
          setupRequest: (request) => ({ ...request, path: `/?since=${cursor}` }),
          onResponse: (_status, body) => (cursor = (JSON.parse(body) as { cursor: number }).cursor),
        },
      ]);
    },
  });
  const deadline = performance.now() + 15_000;
  const noCursorTwice = () => new Set(answeredCursors).size === answeredCursors.length;
  // Every cut made, then two more answers on the last connection (or the failure seen).
  while (performance.now() < deadline && noCursorTwice() && (cuts < cutKinds.length || cursor < cursorAtLastCut + 2))
    await new Promise((resolve) => setTimeout(resolve, 20));
  stopped = true;
  instance.stop();
  await done;

  assert.equal(
    mostOpen,
    1,
    `${mostOpen} requests of one poller were open at once; cursors answered: ${answeredCursors.join(', ')}`,
  );
  // Two requests from one cursor answered twice would hand the poller the same messages twice.
  assert.deepEqual(
    answeredCursors,
    answeredCursors.map((_, i) => i),
    `cursors answered: ${answeredCursors.join(', ')}`,
  );
  assert.equal(cuts, cutKinds.length, `only ${cuts} of the cuts found the poller between requests`);
});

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before } from 'node:test';
import { techniques } from '../../server/contract/techniques.js';
import { clientFor } from '../../test/clients/index.ts';
import { assertDriverGetsEveryMessageOnce } from '../../test/driver-delivery.ts';
import { startServer } from '../../test/support.ts';
import { test } from '../../test/suite.ts';
import { drivers } from '../drivers/index.ts';
import { type ServerProcess, startServerProcess } from '../server-process.ts';

const AUTHOR = 'bench-bare-test';
const CLIENTS = 4;

let bare: ServerProcess;
before(async () => {
  bare = await startServerProcess({}, 'bench/bare/main.ts');
});
after(() => bare.stop());

async function publish(text: string, baseUrl = bare.baseUrl): Promise<number> {
  const response = await fetch(`${baseUrl}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ author: AUTHOR, text }),
  });
  assert.equal(response.status, 201);
  return ((await response.json()) as { id: number }).id;
}

for (const driver of drivers) {
  test(`${driver.id}: the bench's own driver gets every message once from the bare server`, async () => {
    const figures = await assertDriverGetsEveryMessageOnce(driver, bare.baseUrl, {
      author: AUTHOR,
      clientId: 'bare-test',
      clients: CLIENTS,
    });
    assert.ok((figures.latencyMs?.max ?? -1) >= 0, 'delays on the server clock are not negative');
  });
}

test('bad input gets a clear 400, and the server goes on', async () => {
  const path = `/api/${drivers[0]?.id}`;
  const badCursor = await fetch(`${bare.baseUrl}${path}?since=-1`);
  assert.equal(badCursor.status, 400);
  assert.match(await badCursor.text(), /since: expected a whole number/);
  const badBody = await fetch(`${bare.baseUrl}/api/messages`, { method: 'POST', body: '{"author":1}' });
  assert.equal(badBody.status, 400);
  assert.match(await badBody.text(), /expected \{\\"author\\"/);
  assert.equal((await fetch(`${bare.baseUrl}/api/health`)).status, 200);
});

for (const technique of techniques) {
  test(`${technique.id}: the test client of its wire format reads the bare server`, async () => {
    const health = (await (await fetch(`${bare.baseUrl}/api/health`)).json()) as { lastId: number; epoch: string };
    const client = await clientFor(technique)(bare.baseUrl, {
      since: health.lastId,
      epoch: health.epoch,
      pollIntervalMs: 50,
    });
    try {
      const id = await publish('to the test client');
      await client.received(1);
      assert.deepEqual(
        client.messages.map((m) => m.id),
        [id],
      );
    } finally {
      await client.close();
    }
  });
}

/** The opening and first message of a stream, up to `until` in its body, and its headers. */
function streamStart(url: string, until: string): Promise<{ headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        body += text;
        if (body.includes(until)) {
          resolve({ headers: res.headers, body });
          req.destroy();
        }
      });
    });
    req.on('error', reject);
    req.end();
  });
}

for (const technique of techniques.filter((t) => t.capabilities.streams && !t.capabilities.upgrades)) {
  test(`${technique.id}: the bare server writes realtime-lab's bytes, message ids, times and epoch aside`, async (t) => {
    const lab = await startServer(t);
    const text = `same bytes ${technique.id}`;
    const seen = await Promise.all(
      [lab.url, bare.baseUrl].map(async (baseUrl) => {
        const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as { lastId: number; epoch: string };
        const url = `${baseUrl}/api/${technique.id}?since=${health.lastId}&epoch=${health.epoch}`;
        const started = streamStart(url, text);
        // The stream is open once the server counts it.
        await new Promise((r) => setTimeout(r, 200));
        await publish(text, baseUrl);
        const { headers, body } = await started;
        const normal = body
          .replaceAll(health.epoch, 'EPOCH')
          .replace(/"id":\d+/g, '"id":ID')
          .replace(/"ts":[\d.]+/g, '"ts":TS')
          .replace(/EPOCH\.\d+/g, 'EPOCH.ID');
        const wanted = ['content-type', 'cache-control', 'x-content-type-options', 'x-accel-buffering', 'connection'];
        return { body: normal, headers: Object.fromEntries(wanted.map((name) => [name, headers[name]])) };
      }),
    );
    assert.deepEqual(seen[1], seen[0]);
  });
}

/** A poll's status, the headers a client acts on, and its body with ids, times and epoch masked. */
async function pollAnswer(url: string, epoch: string) {
  const answer = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (text: string) => (body += text));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    },
  );
  const wanted = ['content-type', 'cache-control', 'x-content-type-options', 'connection', 'keep-alive'];
  return {
    status: answer.status,
    headers: Object.fromEntries(wanted.map((name) => [name, answer.headers[name]])),
    body: answer.body
      .replaceAll(epoch, 'EPOCH')
      .replace(/"id":\d+/g, '"id":ID')
      .replace(/"ts":[\d.]+/g, '"ts":TS'),
  };
}

for (const technique of techniques.filter((t) => !t.capabilities.streams && !t.capabilities.upgrades)) {
  test(`${technique.id}: the bare server answers a poll as realtime-lab does, nothing new and one message`, async (t) => {
    const lab = await startServer(t);
    const text = `same answer ${technique.id}`;
    const held = technique.capabilities.holdsRequest;
    const seen = await Promise.all(
      [lab.url, bare.baseUrl].map(async (baseUrl) => {
        const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as { lastId: number; epoch: string };
        const at = (cursor: number, extra = '') =>
          `${baseUrl}/api/${technique.id}?since=${cursor}&epoch=${health.epoch}${extra}`;
        const nothingNew = await pollAnswer(at(health.lastId, held ? '&timeout=1' : ''), health.epoch);
        let message: ReturnType<typeof pollAnswer>;
        if (held) {
          message = pollAnswer(at(health.lastId), health.epoch);
          await new Promise((r) => setTimeout(r, 200));
          await publish(text, baseUrl);
        } else {
          await publish(text, baseUrl);
          message = pollAnswer(at(health.lastId), health.epoch);
        }
        return { nothingNew, message: await message };
      }),
    );
    assert.equal(seen[0]?.nothingNew.status, 204, 'realtime-lab: nothing new is a 204');
    assert.deepEqual(seen[1], seen[0]);
  });
}

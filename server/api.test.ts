/**
 * POST /api/messages, /api/stats, /api/health and the error shape, against a real server.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from './app.ts';
import type { Message } from './message.ts';
import { largestPublish, startServer } from '../test/support.ts';
import { HELD_TRANSCRIPT_MESSAGE, type Transcript, selfAddress } from './transcript.ts';
import { techniqueIds, techniques } from './contract/techniques.js';
import { OTHER } from './wire.ts';

async function post(url: string, body: string | Uint8Array, contentType: string | null = 'application/json') {
  const headers: Record<string, string> = {};
  if (contentType !== null) headers['content-type'] = contentType;
  const response = await fetch(`${url}/api/messages`, { method: 'POST', headers, body });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

function assertError(answer: Awaited<ReturnType<typeof post>>, status: number, message: RegExp) {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.type, /application\/json/);
  assert.equal(answer.body.statusCode, status);
  assert.equal(typeof answer.body.error, 'string');
  assert.match(String(answer.body.message), message);
}

test('a valid publish answers 201 with the stored message', async (t) => {
  const server = await startServer(t);
  const answer = await post(server.url, JSON.stringify({ author: 'ada', text: 'hello' }));
  assert.equal(answer.status, 201);
  assert.deepEqual(Object.keys(answer.body), ['id', 'ts', 'author', 'text']);
  assert.equal(answer.body.id, 1);
  assert.equal(answer.body.author, 'ada');
  assert.equal(answer.body.text, 'hello');
  assert.equal(typeof answer.body.ts, 'number');
});

test('application/json with a charset parameter is accepted', async (t) => {
  const server = await startServer(t);
  const answer = await post(
    server.url,
    JSON.stringify({ author: 'ada', text: 'hi' }),
    'application/json; charset=utf-8',
  );
  assert.equal(answer.status, 201);
});

test('the largest text (4096 bytes of UTF-8) and the longest author (32 characters) are accepted', async (t) => {
  const server = await startServer(t);
  const answer = await post(server.url, JSON.stringify({ author: '🦊'.repeat(32), text: `${'€'.repeat(1365)}x` }));
  assert.equal(answer.status, 201);
});

test('a text of 4096 control characters, 24 KiB once JSON escapes it, is published and arrives intact', async (t) => {
  const server = await startServer(t);
  const text = '\u0001'.repeat(4096);
  const answer = await post(server.url, JSON.stringify({ author: 'ada', text }));
  assert.equal(answer.status, 201, JSON.stringify(answer.body).slice(0, 200));
  const polled = (await (await fetch(`${server.url}/api/short-polling?since=0`)).json()) as { messages: Message[] };
  assert.equal(polled.messages[0]?.text, text);
});

test('the largest legal publish with every character escaped fits the body limit', async (t) => {
  const server = await startServer(t);
  const largest = largestPublish(4096, 'http');
  const answer = await post(server.url, largest.json);
  assert.equal(answer.status, 201, JSON.stringify(answer.body).slice(0, 200));
  assert.equal(answer.body.text, largest.text);
  assert.equal(answer.body.author, largest.author);
});

test('a visible text or author with invisible characters around it is accepted as it is', async (t) => {
  const server = await startServer(t);
  const answer = await post(server.url, JSON.stringify({ author: '\u200bada ', text: ' a\u200db\ufeff' }));
  assert.equal(answer.status, 201);
  assert.equal(answer.body.text, ' a\u200db\ufeff');
});

const BAD_BODIES: [string, string, RegExp][] = [
  ['not JSON', '{"author":', /not valid JSON/],
  ['an empty body', '', /empty/i],
  ['a JSON array', '["hi"]', /JSON object/],
  ['JSON null', 'null', /JSON object/],
  ['a JSON string', '"hi"', /JSON object/],
  ['text as a number (no coercion)', '{"author":"ada","text":123}', /"text" must be a string, got number/],
  ['text as an array (no coercion)', '{"author":"ada","text":["hi"]}', /"text" must be a string, got an array/],
  ['text null (no coercion)', '{"author":"ada","text":null}', /"text" must be a string, got null/],
  ['a missing text', '{"author":"ada"}', /"text" must be a string, got nothing/],
  ['a missing author', '{"text":"hi"}', /"author" must be a string/],
  ['an unknown field', '{"author":"ada","text":"hi","admin":true}', /unknown field "admin"/],
  ['a __proto__ key', '{"author":"ada","text":"hi","__proto__":{"x":1}}', /.+/],
  ['a constructor.prototype key', '{"author":"ada","text":"hi","constructor":{"prototype":{"x":1}}}', /.+/],
  ['an empty text', '{"author":"ada","text":""}', /must not be empty/],
  [
    'a text of 4097 bytes',
    JSON.stringify({ author: 'ada', text: 'x'.repeat(4097) }),
    /4097 bytes of UTF-8; the limit is 4096/,
  ],
  [
    'a text of 4098 bytes in 2-byte characters',
    JSON.stringify({ author: 'ada', text: 'é'.repeat(2049) }),
    /4098 bytes/,
  ],
  ['an empty author', '{"author":"","text":"hi"}', /1 to 32 characters, got 0/],
  ['an author of 33 characters', JSON.stringify({ author: 'a'.repeat(33), text: 'hi' }), /got 33/],
  ['an author with a newline', '{"author":"a\\nb","text":"hi"}', /control characters/],
  ['a lone surrogate in the text', '{"author":"ada","text":"\\ud800"}', /well-formed Unicode/],
  ['a text of spaces only', '{"author":"ada","text":"  \\u00a0 \\u3000"}', /"text" must show something/],
  [
    'a text of zero-width characters',
    '{"author":"ada","text":"\\u200b\\u200c\\u200d\\u2060\\ufeff"}',
    /"text" must show something/,
  ],
  ['a text of a newline and a soft hyphen', '{"author":"ada","text":"\\n\\u00ad"}', /"text" must show something/],
  ['an author of spaces only', '{"author":"   ","text":"hi"}', /"author" must show something/],
  ['an author of a zero-width space', '{"author":"\\u200b","text":"hi"}', /"author" must show something/],
  ['an author of a Hangul filler', '{"author":"\\u3164","text":"hi"}', /"author" must show something/],
];

for (const [what, body, message] of BAD_BODIES) {
  test(`a publish with ${what} gets 400 and a message`, async (t) => {
    const server = await startServer(t);
    assertError(await post(server.url, body), 400, message);
    assert.equal(server.feed.lastId, 0, 'nothing was stored');
  });
}

const INVALID_UTF8: [string, number[]][] = [
  ['a 0xFF byte', [0xff]],
  ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
  ['an overlong "/" in three bytes (E0 80 AF)', [0xe0, 0x80, 0xaf]],
  ['a lone surrogate encoded in UTF-8 (ED A0 80)', [0xed, 0xa0, 0x80]],
  ['a sequence cut short (E2 82, then a quote)', [0xe2, 0x82]],
];

for (const [what, bytes] of INVALID_UTF8) {
  test(`a body with ${what} in its text gets 400 RTL_BAD_ENCODING, and nothing is stored`, async (t) => {
    const server = await startServer(t);
    const body = Buffer.concat([Buffer.from('{"author":"ada","text":"ok '), Buffer.from(bytes), Buffer.from('"}')]);
    const answer = await post(server.url, body);
    assertError(answer, 400, /^the body is not valid UTF-8/);
    assert.equal(answer.body.code, 'RTL_BAD_ENCODING');
    assert.equal(server.feed.lastId, 0);
  });
}

test('valid UTF-8 of every length still publishes, and a prototype-poisoning key is still refused', async (t) => {
  const server = await startServer(t);
  const text = 'é € 🦊 \u2028';
  const answer = await post(server.url, Buffer.from(JSON.stringify({ author: 'ada', text }), 'utf8'));
  assert.equal(answer.status, 201);
  assert.equal(answer.body.text, text);
  const poisoned = await post(server.url, Buffer.from('{"author":"ada","text":"hi","__proto__":{"admin":true}}'));
  assert.equal(poisoned.status, 400);
  assert.equal(poisoned.body.code, 'FST_ERR_CTP_INVALID_JSON_BODY');
});

test('a body over the limit gets 413', async (t) => {
  const server = await startServer(t);
  const body = JSON.stringify({ author: 'ada', text: 'x'.repeat(40_000) });
  assertError(await post(server.url, body), 413, /too large/i);
});

for (const type of [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/jsonp',
]) {
  test(`a publish sent as ${type} gets 415, so a cross-site form cannot publish`, async (t) => {
    const server = await startServer(t);
    assertError(
      await post(server.url, JSON.stringify({ author: 'ada', text: 'hi' }), type),
      415,
      /Unsupported Media Type/,
    );
    assert.equal(server.feed.lastId, 0);
  });
}

test('a publish with no content type gets a 4xx', async (t) => {
  const server = await startServer(t);
  const answer = await post(server.url, new TextEncoder().encode('{"author":"ada","text":"hi"}'), null);
  assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
  assert.equal(server.feed.lastId, 0);
});

test('a publish is delivered to a poller', async (t) => {
  const server = await startServer(t);
  await post(server.url, JSON.stringify({ author: 'ada', text: 'hi' }));
  const answer = (await (await fetch(`${server.url}/api/short-polling?since=0`)).json()) as {
    messages: { text: string }[];
  };
  assert.deepEqual(
    answer.messages.map((m) => m.text),
    ['hi'],
  );
});

test('an unknown path gets a JSON 404', async (t) => {
  const server = await startServer(t);
  const response = await fetch(`${server.url}/api/nope`);
  assert.equal(response.status, 404);
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(body.statusCode, 404);
  assert.equal(body.error, 'Not Found');
});

test('health answers 200', async (t) => {
  const server = await startServer(t);
  const response = await fetch(`${server.url}/api/health`);
  assert.equal(response.status, 200);
  assert.equal(((await response.json()) as { status: string }).status, 'ok');
});

test(`stats has counters for every registered technique (${techniqueIds.join(', ')}), then for the other requests, and for nothing else`, async (t) => {
  const server = await startServer(t);
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as {
    techniques: Record<string, Record<string, unknown>>;
  };
  assert.deepEqual(Object.keys(stats.techniques), [...techniqueIds, OTHER], 'in registry order');
  for (const id of [...techniqueIds, OTHER]) {
    const counters = stats.techniques[id];
    assert.ok(counters, id);
    for (const key of ['openConnections', 'httpRequests', 'messagesDelivered', 'bytesIn', 'bytesOut', 'payloadBytes']) {
      assert.ok(key in counters, `${id}.${key}`);
    }
  }
});

test('every answer with a body carries X-Content-Type-Options: nosniff', async (t) => {
  const server = await startServer(t);
  for (const path of ['/', '/api/health', '/api/stats', '/api/short-polling', '/api/nope']) {
    const response = await fetch(`${server.url}${path}`);
    await response.arrayBuffer();
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', path);
  }
});

for (const timeout of ['-1', '1.5', 'soon', '99999999999', '1e3']) {
  test(`a long poll asking for timeout=${timeout} gets 400 at once`, async (t) => {
    const server = await startServer(t);
    const response = await fetch(`${server.url}/api/long-polling?timeout=${timeout}`);
    assert.equal(response.status, 400);
    assert.match(
      ((await response.json()) as { message: string }).message,
      /timeout must be a whole number of milliseconds from 0 to 55000/,
    );
  });
}

test('a URL or headers larger than Node accepts get 431, and the server stays up', async (t) => {
  const server = await startServer(t);
  const longUrl = await fetch(`${server.url}/api/short-polling?since=0&pad=${'x'.repeat(64 * 1024)}`);
  assert.equal(longUrl.status, 431);
  const longHeader = await fetch(`${server.url}/api/health`, { headers: { 'x-pad': 'x'.repeat(64 * 1024) } });
  assert.equal(longHeader.status, 431);
  assert.equal((await fetch(`${server.url}/api/health`)).status, 200);
});

for (const host of ['::1', '127.0.0.2']) {
  test(`transcripts of ${techniqueIds.join(', ')} work with the server listening on ${host} alone, with a Host header that names it`, async (t) => {
    const lab = await buildApp({ config: { logLevel: 'silent', host } });
    await lab.app.listen({ port: 0, host });
    t.after(() => lab.app.close());
    const { port } = lab.app.server.address() as import('node:net').AddressInfo;
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    await fetch(`http://${authority}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ author: 'ada', text: 'recorded' }),
    });
    let latest = 'recorded';
    for (const { id: technique, capabilities } of techniques) {
      const status = capabilities.upgrades ? 'HTTP/1.1 101' : 'HTTP/1.1 200';
      const response = await fetch(`http://${authority}/api/transcripts/${technique}`);
      assert.equal(response.status, 200, `${technique}: ${await response.clone().text()}`);
      const transcript = (await response.json()) as Transcript;
      assert.match(transcript.request, new RegExp(`\r\nHost: ${authority.replace(/[[\].]/g, '\\$&')}\r\n`), technique);
      assert.ok(transcript.response.startsWith(status), `${technique}: ${transcript.response.slice(0, 40)}`);
      // The latest message; a request held without streaming is recorded at the head, answered
      // by the recording's own message, which is the latest from then on.
      if (capabilities.holdsRequest && !capabilities.streams) latest = HELD_TRANSCRIPT_MESSAGE.text;
      assert.ok(transcript.response.includes(latest), technique);
    }
  });
}

test('a server listening on every interface records its transcripts through loopback of the same family', () => {
  assert.deepEqual(selfAddress({ address: '0.0.0.0', family: 'IPv4', port: 3000 }), { host: '127.0.0.1', port: 3000 });
  assert.deepEqual(selfAddress({ address: '::', family: 'IPv6', port: 3000 }), { host: '::1', port: 3000 });
  assert.deepEqual(selfAddress({ address: '192.0.2.7', family: 'IPv4', port: 80 }), { host: '192.0.2.7', port: 80 });
  assert.deepEqual(selfAddress('/run/lab.sock'), { path: '/run/lab.sock' });
});

test('a flood of transcript requests cannot spend the server’s own address on connections to itself', async (t) => {
  // Each upgrade transcript opens three connections to the server from its own address,
  // held for TRANSCRIPT_LISTEN_MS: sixteen requests at once were 48 of them, past
  // MAX_CONNECTIONS_PER_ADDRESS, refusing every other client of that address.
  const [upgrading] = techniques.filter((technique) => technique.capabilities.upgrades);
  if (!upgrading) throw new Error('the registry has no upgrading technique');
  const server = await startServer(t);
  const statuses = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const response = await fetch(`${server.url}/api/transcripts/${upgrading.id}`);
      const body = (await response.json()) as { code?: string };
      if (response.status === 503) {
        assert.equal(body.code, 'RTL_TOO_MANY_TRANSCRIPTS');
        assert.ok(Number(response.headers.get('retry-after')) >= 1);
      }
      return response.status;
    }),
  );
  assert.ok(statuses.includes(200), 'some transcripts recorded');
  assert.ok(statuses.includes(503), 'the rest refused, to try again later');
  const stats = (await (await fetch(`${server.url}/api/stats`)).json()) as { connections: { refused: number } };
  assert.equal(stats.connections.refused, 0, 'no connection refused for its address');
});

test('the held transcript’s publish counts against its caller’s publish limit', async (t) => {
  const [held] = techniques.filter(({ capabilities }) => capabilities.holdsRequest && !capabilities.streams);
  if (!held) throw new Error('the registry has no technique that holds a request without streaming');
  const server = await startServer(t, { config: { publishRatePerAddress: 1, publishBurstPerAddress: 1 } });
  let status = 0;
  for (let i = 0; i < 5 && status !== 429; i += 1)
    status = (await post(server.url, JSON.stringify({ author: 'ada', text: `spent ${i}` }))).status;
  assert.equal(status, 429, 'the address has spent its publishes');
  const transcript = await fetch(`${server.url}/api/transcripts/${held.id}`);
  assert.equal(transcript.status, 429);
  assert.ok(transcript.headers.get('retry-after'));
});

/**
 * The transcript recorder (transcript.ts) on a busy process: an answer that arrived within
 * the listening window is recorded even when the event loop was held up past the window,
 * and the window counts from when the request was written.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { recordTranscript } from './transcript.ts';

/** A server in a process of its own, which answers every request at once and keeps the connection open. */
async function answeringServer(t: { after: (fn: () => void) => void }): Promise<number> {
  const script = `
    const server = require('node:net').createServer((socket) => {
      socket.once('data', () => socket.write('HTTP/1.1 200 OK\\r\\ncontent-type: text/event-stream\\r\\n\\r\\ndata: hi\\n\\n'));
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => child.kill());
  const [line] = (await once(child.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
  return Number(line.toString().trim());
}

/** Keeps this process's event loop busy for `ms`, as a loaded test machine might. */
function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

test('an answer that came within the window is recorded though the event loop was held up past it', async (t) => {
  const port = await answeringServer(t);
  const transcript = await recordTranscript({ host: '127.0.0.1', port }, '/api/sse', {
    upgrade: false,
    listenMs: 50,
    // The other process answers while this one is held up; by the time this one runs
    // again, the window has run out and the answer waits in the socket.
    onSent: () => blockFor(300),
  });
  assert.ok(transcript.chunks.length > 0, 'the answer that waited in the socket is recorded');
  assert.match(transcript.response, /data: hi/);
});

// One client of the bench's strategies run (npm run bench -- --strategies): the auto panel's
// own client (pages/auto/auto-client.js), with no panel around it. The bench sets this
// client's blocks on the server, calls benchAutoStart, takes what arrived with
// benchAutoReceived while it publishes (the ids it checks for loss itself, rather than
// trusting the client's own count), then benchAutoReport and benchAutoStop.
import { techniques } from '/contract/techniques.js';
import { runStrategy } from '../auto/auto-client.js';

/**
 * @import { AutoClient } from '../auto/auto-client.js'
 * @import { Strategy } from '/contract/strategies.js'
 */

/** @type {AutoClient | undefined} */
let client;
/** What arrived since the bench last asked: id, author, and the technique that brought it. @type {{ id: number, author: string, via: string }[]} */
let arrived = [];

Object.assign(window, {
  /** @param {{ strategy: Strategy, clientId: string }} settings */
  benchAutoStart: async ({ strategy, clientId }) => {
    client = await runStrategy({
      strategy,
      techniques,
      clientId,
      onMessage: (message, via) => arrived.push({ id: message.id, author: message.author, via: via.id }),
    });
  },
  benchAutoReceived: () => {
    const batch = arrived;
    arrived = [];
    return batch;
  },
  /** The client's report, its attempts' techniques as ids and their times from the start, ms. */
  benchAutoReport: async () => {
    if (!client) throw new Error('benchAutoStart was not called');
    const started = client.startedAt;
    const report = await client.report();
    const since = (/** @type {number | undefined} */ at) => (at === undefined ? null : Math.round(at - started));
    return {
      ...report,
      inUse: report.inUse ?? null,
      connectedMs: report.connectedMs ?? null,
      firstMessageMs: report.firstMessageMs ?? null,
      attempts: report.attempts.map((attempt) => ({
        technique: attempt.technique.id,
        outcome: attempt.outcome,
        reason: attempt.reason,
        startedMs: since(attempt.startedAt),
        arrivedMs: since(attempt.arrivedAt),
        endedMs: since(attempt.endedAt),
        bytes: attempt.bytes,
      })),
    };
  },
  benchAutoStop: () => client?.stop(),
});

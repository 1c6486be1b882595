/**
 * The test client of the `poll` wire format: fetch, one request after another, each
 * answer read with the contract's parser. How it polls comes from the technique's
 * capabilities, never from its name: one that polls when idle waits an interval between
 * polls; one whose server holds the request asks it to hold for at most a second.
 */
import { type PollAnswer, pollItems, readPollResponse } from '../../server/contract/formats/poll.js';
import { messageOf } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { type ClientOptions, type FeedClient, clientState, endpoint } from './client.ts';
import { labFetch } from '../tls-fetch.ts';

/** Pause between polls of a technique that polls when idle, unless a test sets its own, ms. */
const DEFAULT_POLL_INTERVAL_MS = 20;
/** How long a held poll may wait: short, so a closed client does not linger. */
const HELD_POLL_TIMEOUT_MS = 1000;

/** Resolves after `ms`, or at once when `signal` aborts (a client closed mid-interval). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Reads the answer to a poll of `url` whole, as a client would: the contract's reader fills
 * in the epoch and cursor the wire leaves out from the `since` and `epoch` the URL named.
 */
export async function readPoll(url: string | URL, response: Response): Promise<PollAnswer> {
  const query = new URL(url).searchParams;
  const since = query.get('since');
  const asked = { cursor: since === null ? undefined : Number(since), epoch: query.get('epoch') ?? undefined };
  return readPollResponse(response.status, await response.text(), asked);
}

/** Opens a polling client of `technique`; resolves after its first answer. */
export async function pollClient(technique: Technique, url: string, options: ClientOptions): Promise<FeedClient> {
  const client = clientState(technique, options);
  const { position } = client;
  const abort = new AbortController();
  const interval = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  let more = false;
  let failure: unknown = null;

  const poll = async (): Promise<void> => {
    const at = { cursor: position.cursor, epoch: position.epoch };
    const asked = new URL(endpoint(url, technique, { ...options, since: at.cursor, epoch: at.epoch }));
    if (technique.capabilities.holdsRequest) asked.searchParams.set('timeout', String(HELD_POLL_TIMEOUT_MS));
    const response = await labFetch(asked, { signal: abort.signal });
    const text = await response.text();
    if (response.status !== 200 && response.status !== 204) {
      throw new Error(`${technique.id} answered ${response.status}: ${text}`);
    }
    const answer = readPollResponse(response.status, text, at);
    for (const item of pollItems(answer)) {
      if (item.kind === 'message') client.take(messageOf(item));
      else client.control(item.event);
    }
    // The answer names the feed it was read from: with no reset, the client's own.
    position.epoch = answer.epoch;
    position.cursor = answer.cursor;
    more = answer.more === true;
  };
  // The first answer fixes the cursor, so from here on nothing can be missed.
  await poll();
  const loop = (async () => {
    while (!abort.signal.aborted) {
      if (technique.capabilities.pollsWhenIdle && !more) await sleep(interval, abort.signal);
      try {
        await poll();
      } catch (error) {
        if (!abort.signal.aborted) failure = error;
        return;
      }
    }
  })();
  return {
    ...client,
    reconnects: true,
    received: async (count, timeoutMs) => {
      await client.received(count, timeoutMs).catch((error: unknown) => {
        throw failure ?? error;
      });
    },
    close: async () => {
      abort.abort();
      await loop;
    },
  };
}

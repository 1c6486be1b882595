// The polling answer, short and long polling alike: one JSON object per request,
//   {"epoch":"E","cursor":N,"messages":[...]}  (+ "missed":K, "reset":true, "more":true)
// `cursor` is where the next request starts (`since=N&epoch=E`). `reset` says the cursor
// was of another feed and the messages start over; `missed` says K messages fell out of
// the history; `more` says the answer was cut to a page: ask again at once.

/** @import { Message, FeedItem } from '../feed.js' */

/**
 * @typedef {object} PollAnswer
 * @property {string} epoch       the feed the answer was read from
 * @property {number} cursor      where the next request starts
 * @property {Message[]} messages
 * @property {number} [missed]    messages that fell out of the history before these
 * @property {boolean} [reset]    the cursor was of another feed: these start over
 * @property {boolean} [more]     cut to a page: the rest waits for the next request
 */

/**
 * The body of a polling answer, built around each message's own JSON (so the server knows
 * the payload bytes exactly and serializes each message once, whatever its clients).
 * @param {{ epoch: string, cursor: number, messagesJson: readonly string[], missed?: number, reset?: boolean, more?: boolean }} answer
 */
export function encodePollAnswer({ epoch, cursor, messagesJson, missed, reset, more }) {
  const extra = (missed ? `,"missed":${missed}` : '') + (reset ? ',"reset":true' : '') + (more ? ',"more":true' : '');
  // An epoch is [0-9a-z] only (isEpoch): nothing in it needs escaping.
  return `{"epoch":"${epoch}","cursor":${cursor},"messages":[${messagesJson.join(',')}]${extra}}`;
}

/**
 * Reads a polling answer; throws on anything that is not one.
 * @param {string} text
 * @returns {PollAnswer}
 */
export function parsePollAnswer(text) {
  const answer = JSON.parse(text);
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof answer.epoch !== 'string' ||
    !Number.isSafeInteger(answer.cursor) ||
    !Array.isArray(answer.messages)
  ) {
    throw new Error(`not a polling answer: ${text.slice(0, 120)}`);
  }
  return answer;
}

/**
 * What an answer tells a client, in the order a stream would: the reset, the gap, then
 * each message (as the JSON the server wrote for it).
 * @param {PollAnswer} answer
 * @returns {FeedItem[]}
 */
export function pollItems(answer) {
  /** @type {FeedItem[]} */
  const items = [];
  if (answer.reset) items.push({ kind: 'control', event: { type: 'reset', epoch: answer.epoch } });
  if (answer.missed) items.push({ kind: 'control', event: { type: 'gap', missed: answer.missed } });
  for (const message of answer.messages) items.push({ kind: 'message', json: JSON.stringify(message) });
  return items;
}

// The polling answer, short and long polling alike: one JSON object per request,
//   {"epoch":"E","cursor":N,"messages":[...]}  (+ "missed":K, "reset":true, "more":true)
// `cursor` is where the next request starts (`since=N&epoch=E`). `reset` says the cursor
// was of another feed and the messages start over; `missed` says K messages fell out of
// the history; `more` says the answer was cut to a page: ask again at once.
// Nothing new for a client whose cursor and epoch are current is `204 No Content`, no body:
// the client keeps its cursor and epoch. A request that named no cursor or no epoch always
// gets the 200, since it has them to learn. (Polls only: an EventSource stops for good on 204.)

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

/** The status of a poll with nothing new for a client whose cursor and epoch are current. */
export const NOTHING_NEW_STATUS = 204;

/**
 * Whether an answer would tell the client that asked at `asked` nothing: no message, no
 * gap, no reset, and the cursor and epoch it sent. Then the server answers
 * NOTHING_NEW_STATUS, with no body.
 * @param {{ epoch: string, cursor: number, messages: number, missed?: number, reset?: boolean }} answer
 * @param {{ epoch?: string, cursor?: number }} asked  the position the request named
 */
export function tellsNothingNew(answer, asked) {
  return (
    answer.messages === 0 &&
    !answer.missed &&
    !answer.reset &&
    asked.cursor === answer.cursor &&
    asked.epoch !== undefined &&
    asked.epoch === answer.epoch
  );
}

/**
 * Reads a polling response by its status: a 200's JSON answer, or a 204 as the empty
 * answer at the position the request named (nothing new: cursor and epoch unchanged).
 * Throws on any other status, on a 204 to a request that named no cursor or no epoch (the
 * server never sends one), and on a 200 whose body is not a polling answer.
 * @param {number} status
 * @param {string} text  the body ('' for a 204)
 * @param {{ epoch?: string, cursor?: number }} asked  the position the request named
 * @returns {PollAnswer}
 */
export function readPollResponse(status, text, asked) {
  if (status === NOTHING_NEW_STATUS) {
    if (asked.epoch === undefined || asked.cursor === undefined) {
      throw new Error('a 204 to a poll that named no cursor and epoch: where it stands is unknown');
    }
    return { epoch: asked.epoch, cursor: asked.cursor, messages: [] };
  }
  if (status !== 200) throw new Error(`HTTP ${status}: ${text.slice(0, 120)}`);
  return parsePollAnswer(text);
}

/**
 * Reads a polling answer (a 200's body); throws on anything that is not one.
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

// The polling answer, short and long polling alike: one JSON object per request,
//   {"messages":[...]}  (+ "epoch":"E", "cursor":N, "missed":K, "reset":true, "more":true)
// To a request that named its position (`since=N&epoch=E`) it carries only what the client
// cannot know already: where the client stands next is the answer's `epoch` and `cursor`,
// each left out when the client knows it without being told. A request that named no
// cursor or no epoch (a first poll; a bare `since`, typed by hand or from a client of the
// contract before epochs, which reads `cursor` from every answer; an epoch alone, which
// names no position) gets both, always.
// - `epoch` is left out when it is the epoch the request named. It is written on every
//   `reset`: a reset says the cursor was of another feed (another epoch, or one ahead of
//   this feed), and names the feed the messages now count in, even when its epoch is the
//   one asked.
// - `cursor` is left out when it is the id of the last message in the answer, which it
//   always is when the answer has messages: a plain answer, a gap (`missed`: K messages
//   fell out of the history before these; the client counts them and goes on from the last
//   one it has), a reset (the messages start over from this feed's oldest), and an answer
//   cut to a page (`more`: the cursor is the last message of this page, and the client asks
//   again at once from it). It is written when the answer has no message: a gap that left
//   nothing to send (`asked + missed`, as the history may hold nothing now), a reset of an
//   empty feed.
// The contract's readers fill in what was left out from the position asked, so every
// client works with the whole answer: `readPollResponse(status, text, asked)`.
// Nothing new for a client whose cursor and epoch are current is `204 No Content`, no body:
// the client keeps its cursor and epoch. A request that named no cursor or no epoch always
// gets the 200, since it has them to learn. (Polls only: an EventSource stops for good on 204.)

/** @import { Message, FeedItem } from '../feed.js' */

/**
 * A polling answer as its readers give it: whole, whatever the wire left out.
 * @typedef {object} PollAnswer
 * @property {string} epoch       the feed the answer was read from
 * @property {number} cursor      where the next request starts
 * @property {Message[]} messages
 * @property {number} [missed]    messages that fell out of the history before these
 * @property {boolean} [reset]    the cursor was of another feed: these start over
 * @property {boolean} [more]     cut to a page: the rest waits for the next request
 */

/**
 * The position a poll named: its `since` and `epoch`, each undefined when it named none.
 * @typedef {{ epoch?: string, cursor?: number }} AskedPosition
 */

/**
 * The body of a polling answer, built around each message's own JSON (so the server knows
 * the payload bytes exactly and serializes each message once, whatever its clients).
 * `lastMessageId` is the id of the last message in `messagesJson` (undefined with none):
 * the cursor is left out when it equals it. `asked` is the position the request named:
 * only when it named both a cursor and an epoch, the epoch is left out when it is the one
 * asked (unless the answer is a reset), and the cursor as above. Without them, every field
 * is written (an answer any reader takes).
 * @param {{ epoch: string, cursor: number, messagesJson: readonly string[], lastMessageId?: number, missed?: number, reset?: boolean, more?: boolean }} answer
 * @param {AskedPosition} [asked]
 */
export function encodePollAnswer({ epoch, cursor, messagesJson, lastMessageId, missed, reset, more }, asked = {}) {
  // An epoch is [0-9a-z] only (isEpoch): nothing in it needs escaping.
  const lean = asked.cursor !== undefined && asked.epoch !== undefined;
  const named = lean && !reset && asked.epoch === epoch ? '' : `"epoch":"${epoch}",`;
  const cursorKnown = lean && messagesJson.length > 0 && lastMessageId === cursor;
  const position = named + (cursorKnown ? '' : `"cursor":${cursor},`);
  const extra = (missed ? `,"missed":${missed}` : '') + (reset ? ',"reset":true' : '') + (more ? ',"more":true' : '');
  return `{${position}"messages":[${messagesJson.join(',')}]${extra}}`;
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
 * @param {AskedPosition} asked  the position the request named
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
  return parsePollAnswer(text, asked);
}

/**
 * Reads a polling answer (a 200's body) to a request that named `asked`, whole: a missing
 * `epoch` is the one asked with a cursor, a missing `cursor` the id of the last message. Throws on
 * anything that is not a polling answer, and on one that leaves out what the request did
 * not name (an epoch it never asked with, a cursor with no message to take it from).
 * @param {string} text
 * @param {AskedPosition} [asked]
 * @returns {PollAnswer}
 */
export function parsePollAnswer(text, asked = {}) {
  const answer = JSON.parse(text);
  if (typeof answer !== 'object' || answer === null || !Array.isArray(answer.messages)) {
    throw new Error(`not a polling answer: ${text.slice(0, 120)}`);
  }
  const last = answer.messages.at(-1);
  answer.epoch ??= answer.reset || asked.cursor === undefined ? undefined : asked.epoch;
  answer.cursor ??= last?.id;
  if (typeof answer.epoch !== 'string' || !Number.isSafeInteger(answer.cursor)) {
    throw new Error(
      `not a polling answer (no epoch or cursor, and none to take from the request): ${text.slice(0, 120)}`,
    );
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
  for (const message of answer.messages) items.push({ kind: 'message', json: JSON.stringify(message), message });
  return items;
}

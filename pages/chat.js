// The side-by-side page as a chat room: who is online (GET /api/presence, every technique
// and every node), who left and how long the server took to notice, a greeting, and the
// check that this is the only tab of the page in this browser: its long-lived requests
// (one per technique that holds a request) take most of the six connections a browser
// allows per host over HTTP/1.1, so a second tab's would queue behind them, and its
// clients would stall without a word. Over HTTP/2 every tab shares one connection, and
// the page does not ask (app.js).
import { el } from './panel.js';

/** @import { Technique } from '/contract/techniques.js' */

/**
 * What `GET /api/presence` answers.
 * @typedef {{ nick: string, open: number, lastSeen: number }} Chatter
 * @typedef {{ nick: string, technique: string, at: number, quietMs: number }} Departure
 * @typedef {{ graceMs: number, online: Record<string, Chatter[]>, left: Departure[] }} PresenceAnswer
 */

const CHANNEL = 'realtime-lab side-by-side tabs';
/** How long a tab waits for another to say it is open, ms: a BroadcastChannel answers within a few. */
const TAB_ANSWER_MS = 300;

/**
 * Whether another tab of this page is open and connected in this browser (the same
 * profile: a private window or another browser has connections of its own). From then
 * on, this tab answers the same question from tabs opened later.
 * @returns {Promise<boolean>}
 */
export function anotherTabIsOpen() {
  const channel = new BroadcastChannel(CHANNEL);
  let answered = false;
  let connected = false;
  channel.addEventListener('message', (event) => {
    if (event.data === 'here') answered = true;
    else if (event.data === 'anyone?' && connected) channel.postMessage('here');
  });
  channel.postMessage('anyone?');
  return new Promise((resolve) =>
    setTimeout(() => {
      connected = !answered;
      resolve(answered);
    }, TAB_ANSWER_MS),
  );
}

/** The notice a second tab shows instead of stalling. @param {HTMLElement} notice @param {number} held */
export function showSecondTabNotice(notice, held) {
  notice.hidden = false;
  notice.textContent =
    `This page is already open in another tab of this browser. Each copy holds ${held} long-lived HTTP ` +
    'connections, and a browser opens at most six per host over HTTP/1.1: this tab would wait for ' +
    'connections that never come free. So it does not connect. Close the other tab and reload, or, to ' +
    'chat with yourself, open the page in a private window or another browser, which have connections of their own.';
}

/**
 * Fills the online list from an answer: one line per nickname with the techniques it uses,
 * then those who left, with how long it took to notice.
 * @param {HTMLElement} list @param {PresenceAnswer} answer @param {readonly Technique[]} techniques
 */
export function renderPresence(list, answer, techniques) {
  /** @type {Map<string, string[]>} */
  const byNick = new Map();
  for (const technique of techniques) {
    for (const chatter of answer.online[technique.id] ?? []) {
      byNick.set(chatter.nick, [...(byNick.get(chatter.nick) ?? []), technique.title]);
    }
  }
  const items = [...byNick].map(([nick, titles]) =>
    el('li', { 'data-nick': nick, 'data-role': 'online' }, `${nick} (${titles.join(', ')})`),
  );
  for (const { nick, technique, quietMs } of answer.left) {
    const title = techniques.find((entry) => entry.id === technique)?.title ?? technique;
    const text = `${nick} left (${title}): not seen for ${(quietMs / 1000).toFixed(1)} s`;
    items.push(el('li', { class: 'left', 'data-nick': nick, 'data-role': 'left' }, text));
  }
  list.replaceChildren(...items);
}

/**
 * The greeting, once this page's own nickname is listed: who else is here, or how to
 * get someone.
 * @param {PresenceAnswer} answer @param {string} me
 * @returns {string | undefined} undefined while the server does not list `me` yet
 */
export function greeting(answer, me) {
  const nicks = new Set(Object.values(answer.online).flatMap((chatters) => chatters.map((chatter) => chatter.nick)));
  if (!nicks.has(me)) return undefined;
  nicks.delete(me);
  const others = [...nicks];
  return others.length > 0
    ? `Welcome, ${me}! Also here: ${others.join(', ')}.`
    : `Welcome, ${me}! Nobody else is here yet: open this page in a private window or another browser and talk to yourself.`;
}

/** How long a joined page waits to be listed before it says why it may not be, ms: a few presence refreshes. */
export const LISTED_WITHIN_MS = 5000;

/**
 * What the page says when the server has not listed its nickname `waitedMs` after joining:
 * the server serves a chatter's requests but announces and lists it only within the
 * publish limit and the presence caps of its address (docs/chat.md), so the page still
 * receives and can talk, unlisted.
 * @param {PresenceAnswer} answer @param {string} me @param {number} waitedMs
 * @returns {string | undefined} undefined while listed, or while it is early to tell
 */
export function notListedNotice(answer, me, waitedMs) {
  if (waitedMs < LISTED_WITHIN_MS) return undefined;
  const listed = Object.values(answer.online).some((chatters) => chatters.some((chatter) => chatter.nick === me));
  if (listed) return undefined;
  return (
    `The server has not listed you as ${me} after ${Math.round(waitedMs / 1000)} s: it announces a join only ` +
    'within the publish limit of your address and keeps a bounded number of chatters per address, and yours ' +
    'is used up (many tabs or clients behind one address?). You still receive every message and can talk, ' +
    'unlisted. Polling techniques try again on their own; leave and join again in a few seconds to retry them all.'
  );
}

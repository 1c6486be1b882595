/**
 * The page's client id, which whoever knows it can act as (block its techniques, spend its
 * publish limit, report its delays): what is public of it must leave the rest unguessable.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newClientId } from './client-id.js';

/** What the classroom's tag and the default nickname `guest-XXXX` show of an id: its last four characters. */
const SHOWN = 4;
/** Guesses an attacker may afford against `/api/stats?client=ID`, which tells a used id from an unused one: 2^64. */
const BITS_TO_GUESS = 64;

test('a page id keeps at least 64 bits hidden behind what the classroom and the chat show of it', () => {
  const id = newClientId();
  const match = /^page-([a-z0-9]+)$/.exec(id);
  assert.ok(match?.[1], id);
  assert.ok(id.length <= 64 - '-auto1'.length, 'room for an extra client’s part within the server’s 64');
  const hiddenBits = (match[1].length - SHOWN) * Math.log2(36);
  assert.ok(hiddenBits >= BITS_TO_GUESS, `${id}: ${hiddenBits.toFixed(1)} bits hidden`);
});

test('a page id comes from the crypto random source, not Math.random (whose state can be recovered)', (t) => {
  t.mock.method(Math, 'random', () => 0.5);
  assert.notEqual(newClientId(), newClientId());
});

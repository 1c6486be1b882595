import assert from 'node:assert/strict';
import { test } from 'node:test';
import { techniqueIds, techniques } from '../../server/contract/techniques.js';
import { drivers, loadDrivers } from './index.ts';

test('every registered technique has a bench driver, in registry order', () => {
  assert.deepEqual(
    drivers.map((d) => d.id),
    techniqueIds,
  );
  for (const entry of drivers) {
    assert.equal(typeof entry.subscribe, 'function', entry.id);
    assert.equal(typeof entry.predict, 'function', entry.id);
    assert.ok(entry.client.length > 0, `${entry.id} says which client measured it`);
  }
});

test('a driver carries its registry line as it is: id, colour and capabilities', () => {
  for (const [index, entry] of drivers.entries()) {
    const { subscribe, predict, client, ...line } = entry;
    assert.deepEqual(line, { ...techniques[index] }, entry.id);
  }
});

test('a registered technique without a driver file is an error naming the file to write', async () => {
  const [first] = techniques;
  assert.ok(first);
  await assert.rejects(
    loadDrivers([{ ...first, id: 'carrier-pigeon' }]),
    /technique "carrier-pigeon" is registered, but bench\/drivers\/carrier-pigeon\.ts could not be loaded/,
  );
});

test('a file that exports no `driver` is an error naming it', async () => {
  const [first] = techniques;
  assert.ok(first);
  // pollers.ts is a real file of this folder, and not a driver.
  await assert.rejects(loadDrivers([{ ...first, id: 'pollers' }]), /bench\/drivers\/pollers\.ts must export `driver`/);
});

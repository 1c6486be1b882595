/**
 * The models live in the contract (server/contract/models.js), shared with the page; the
 * bench's drivers call them. These tests hold the bench's predictions to what they were
 * before the move (fixtures/predictions.json, 10 fixed runs × every technique; the pollers'
 * framing, added with the 204 of issue 16, recorded since), and the
 * contract's choice of model by capability to each driver's own, number for number.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { agrees, predict } from '../../server/contract/models.js';
import { test } from '../../test/suite.ts';
import { MODEL_INPUTS } from './fixtures/model-inputs.ts';
import { drivers } from './index.ts';

const recorded = JSON.parse(readFileSync(new URL('./fixtures/predictions.json', import.meta.url), 'utf8')) as Record<
  string,
  Record<string, unknown>
>;

test('every driver predicts the fixed runs exactly as the bench did before the models moved', () => {
  let sets = 0;
  for (const driver of drivers) {
    for (const [name, input] of Object.entries(MODEL_INPUTS)) {
      // Byte for byte, as results.json would hold them: numbers, tolerances and words.
      assert.equal(
        JSON.stringify(driver.predict(input)),
        JSON.stringify(recorded[driver.id]?.[name]),
        `${driver.id}, ${name}`,
      );
      sets += 1;
    }
  }
  assert.equal(sets, 60);
});

test("the contract's model chosen by capability and wire format is each driver's, for every fixed run", () => {
  for (const driver of drivers) {
    for (const [name, input] of Object.entries(MODEL_INPUTS)) {
      assert.deepEqual(predict(driver, input), driver.predict(input), `${driver.id}, ${name}`);
    }
  }
});

test('a measurement agrees within the larger of the relative and the absolute tolerance', () => {
  const prediction = { metric: 'httpRequests', predicted: 100, tolerance: 0.1, toleranceAbs: 5, model: '' } as const;
  assert.equal(agrees(prediction, 110), true);
  assert.equal(agrees(prediction, 110.5), false);
  assert.equal(agrees({ ...prediction, toleranceAbs: 20 }, 119), true);
  assert.equal(agrees({ ...prediction, tolerance: 0, toleranceAbs: undefined }, 100.01), false);
});

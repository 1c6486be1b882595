/**
 * A bench driver against a server the test did not build in-process (the bare broadcast
 * server, realtime-lab compiled): `clients` subscribers follow from the server's health,
 * two messages are published, and every subscriber must get each of them once.
 */
import assert from 'node:assert/strict';
import { calibrate } from '../bench/clock.ts';
import { type DeliveryFigures, DeliveryTracker } from '../bench/delivery.ts';
import type { BenchTechnique } from '../bench/drivers/index.ts';
import { publish, until } from './support.ts';

export async function assertDriverGetsEveryMessageOnce(
  driver: BenchTechnique,
  baseUrl: string,
  { author, clientId, clients }: { author: string; clientId: string; clients: number },
): Promise<DeliveryFigures> {
  const health = (await (await fetch(`${baseUrl}/api/health`)).json()) as { lastId: number; epoch: string };
  const tracker = new DeliveryTracker(author, clients);
  const subscribers = driver.subscribe({
    technique: driver,
    baseUrl,
    clientId,
    clients,
    since: health.lastId,
    epoch: health.epoch,
    pollIntervalMs: 100,
    tracker,
    clock: await calibrate(baseUrl, 3),
  });
  try {
    await subscribers.ready;
    const ids: number[] = [];
    for (const text of ['one', 'two']) ids.push((await publish(baseUrl, { author, text })).id);
    await until(() => tracker.hasAll(ids), `${driver.id}: every subscriber's two messages`);
  } finally {
    const report = await subscribers.stop();
    assert.equal(report.errors, 0);
  }
  const figures = tracker.figures();
  assert.equal(figures.messagesDelivered, 2 * clients);
  assert.equal(figures.duplicates, 0);
  return figures;
}

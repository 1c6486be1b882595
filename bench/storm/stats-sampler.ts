/**
 * Reads a server's own request counter for one technique (GET /api/stats) every
 * `everyMs` over one kept-alive connection: the requests it accepted, counted on its side,
 * which a client's clock could not tell apart from the time its attempts spent queued.
 */
import { Agent, get } from 'node:http';
import type { ServerStats } from '../../server/contract/stats.js';
import type { StatsSample } from './figures.ts';

export interface StatsSampler {
  /** The latest reading, for progress; undefined before the first. */
  latest(): StatsSample | undefined;
  /** Takes a last reading, stops, and gives every reading taken and how many failed. */
  stop(): Promise<{ samples: StatsSample[]; failed: number }>;
}

/**
 * How long one reading may take before it is given up: long, because a reading given up
 * costs its kept-alive connection, and the next one must then get through the accept
 * queue the storm is filling.
 */
const READ_TIMEOUT_MS = 20_000;

function readStats(baseUrl: string, agent: Agent): Promise<ServerStats> {
  return new Promise((resolve, reject) => {
    const req = get(`${baseUrl}/api/stats`, { agent, timeout: READ_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (text: string) => (body += text));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`/api/stats answered ${res.statusCode}`));
        try {
          resolve(JSON.parse(body) as ServerStats);
        } catch (error) {
          reject(error);
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`/api/stats did not answer within ${READ_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/** Starts reading; `now()` is the time each answer is stamped with (ms since the kill). */
export function sampleStats(options: {
  baseUrl: string;
  technique: string;
  everyMs: number;
  now: () => number;
}): StatsSampler {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: StatsSample[] = [];
  let stopped = false;
  let failures = 0;
  const read = async () => {
    const stats = await readStats(options.baseUrl, agent);
    const counters = stats.techniques[options.technique];
    if (!counters) throw new Error(`/api/stats has no technique ${JSON.stringify(options.technique)}`);
    samples.push({ atMs: options.now(), requests: counters.httpRequests, held: counters.activeRequests });
  };
  const loop = (async () => {
    let next = options.now();
    while (!stopped) {
      try {
        await read();
      } catch {
        // A reading lost to the storm is a longer interval for the next one, and a figure.
        failures += 1;
      }
      next += options.everyMs;
      const wait = next - options.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      else next = options.now();
    }
  })();
  return {
    latest: () => samples[samples.length - 1],
    async stop() {
      stopped = true;
      try {
        await loop;
        // One reading at the end: the last one in the loop may have been taken mid-burst.
        await read().catch(() => (failures += 1));
      } finally {
        agent.destroy();
      }
      return { samples, failed: failures };
    },
  };
}

/**
 * The crowd run's flags (`--crowd SIZES`, `--crowd-workers N`), read into its options,
 * and what it changes in the others: by default the techniques that hold a connection
 * open (chosen by capability), and a few messages published slowly (10 at 1/s) rather
 * than the chat scenario's 20/s.
 */
import { techniques } from '../../server/contract/techniques.js';
import { flagsNotWith } from '../run-kinds.ts';

/** What --crowd adds to the options: the client counts and the worker processes. */
export interface CrowdOptions {
  /** Client counts, each run in turn (`--crowd 1000,2000,5000,10000`). */
  sizes: number[];
  /** Worker processes the clients are spread over. */
  workers: number;
  /** How long the clients stay connected and idle before the memory is read, ms (no flag: the tests shorten it). */
  idleMs?: number;
}

export const CROWD_LIMITS = Object.freeze({ clients: 10_000, workers: 16 });
/** Workers when --crowd-workers is not given: 2,500 sockets each at 10,000 clients. */
export const DEFAULT_CROWD_WORKERS = 4;
/** Publishing when --rate and --duration are not given: 10 messages at 1/s. */
export const CROWD_RATE = 1;
export const CROWD_DURATION_SEC = 10;

export const CROWD_FLAGS = {
  crowd: { type: 'string' },
  'crowd-workers': { type: 'string' },
} as const;

export const CROWD_HELP = `  --crowd N[,N...]      the crowd run: per technique (default: those that hold a
                        connection open) and per client count (1..${CROWD_LIMITS.clients}), realtime-lab
                        and then a bare node:http/ws broadcast server (bench/bare/),
                        each alone: time to connect every client, idle memory per
                        connection, then ${CROWD_RATE * CROWD_DURATION_SEC} messages at ${CROWD_RATE}/s (--rate, --duration): fan-out
                        delay, server CPU per delivered message, every delivery once.
                        Clients run in worker processes. E.g. --crowd 1000,2000,5000,10000
  --crowd-workers N     worker processes for the crowd's clients (1..${CROWD_LIMITS.workers}, default ${DEFAULT_CROWD_WORKERS})`;

/** The flags of other kinds of runs, which a crowd run does not take. */
const NOT_WITH_CROWD = [...flagsNotWith('crowd'), 'clients'];

/** The crowd's ids of the techniques to run by default: those that hold a request or a connection open. */
export function crowdTechniqueIds(): string[] {
  return techniques.filter((t) => t.capabilities.holdsRequest || t.capabilities.streams).map((t) => t.id);
}

/** Reads --crowd and --crowd-workers; null without --crowd. `fail` reports a bad value. */
export function parseCrowdOptions(
  values: Record<string, unknown>,
  fail: (message: string) => never,
): CrowdOptions | null {
  const raw = values.crowd as string | undefined;
  if (raw === undefined) {
    if (values['crowd-workers'] !== undefined) fail('--crowd-workers sets up the crowd run; give --crowd too');
    return null;
  }
  const conflicting = NOT_WITH_CROWD.find((flag) => values[flag] !== undefined);
  if (conflicting)
    fail(
      `--crowd starts its own servers and clients on loopback, with the sizes it is given; --${conflicting} is for other runs`,
    );
  const whole = (flag: string, text: string, max: number): number => {
    if (!/^\d+$/.test(text.trim())) fail(`${flag}: expected a whole number, got ${JSON.stringify(text)}`);
    const value = Number(text);
    if (value < 1 || value > max) fail(`${flag}: ${value} is out of range (1..${max})`);
    return value;
  };
  const sizes = raw.split(',').map((item) => whole('--crowd', item, CROWD_LIMITS.clients));
  if (new Set(sizes).size !== sizes.length) fail('--crowd: a client count is listed twice');
  const workers =
    values['crowd-workers'] === undefined
      ? DEFAULT_CROWD_WORKERS
      : whole('--crowd-workers', values['crowd-workers'] as string, CROWD_LIMITS.workers);
  return { sizes: [...sizes].sort((a, b) => a - b), workers };
}

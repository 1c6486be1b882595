/**
 * The one heavy slot. `npm test` runs two test files at a time (test/files.mjs); a file
 * that loads the whole machine (a Chromium, a bench run, a copy of the repository
 * type-checked) first takes this slot, so no two of them overlap and each keeps the
 * timing it was written for, while a light file (one server, a few clients) runs beside
 * it. Without it, the suite runs one file at a time and takes twice as long on 2 cores.
 *
 * The slot is a directory made with mkdir (atomic), holding the pid of the test file
 * that took it; it is given back when that process exits, and a slot whose holder died
 * without giving it back (SIGKILL) is taken over.
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';

/** One slot per checkout, so two clones testing side by side do not wait for each other. */
const SLOT = join(
  tmpdir(),
  `realtime-lab-heavy-${createHash('sha256')
    .update(fileURLToPath(new URL('..', import.meta.url)))
    .digest('hex')
    .slice(0, 12)}`,
);
const POLL_MS = 200;

/** Files that call this, by their path: test/files.mjs spreads them out in the run order. */
export const HEAVY_MARK = 'takeHeavySlot(';

/** Waits for the heavy slot and holds it until this process exits. */
export async function takeHeavySlot(): Promise<void> {
  for (;;) {
    try {
      mkdirSync(SLOT);
      writeFileSync(join(SLOT, 'pid'), String(process.pid));
      process.once('exit', () => rmSync(SLOT, { recursive: true, force: true }));
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (holderIsGone()) rmSync(SLOT, { recursive: true, force: true });
      else await sleep(POLL_MS);
    }
  }
}

function holderIsGone(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(SLOT, 'pid'), 'utf8'));
  } catch {
    // Made but its pid not yet written: its maker is between two lines, unless it died
    // there, which a slot this old without a pid says.
    try {
      return Date.now() - statSync(SLOT).mtimeMs > 5000;
    } catch {
      return true;
    }
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

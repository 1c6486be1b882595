/**
 * Chromium, for the bench's `--browser` and for every test and harness that drives a
 * page: Debian's (or `CHROMIUM_PATH`), found in one place and launched headless by
 * playwright-core, which downloads no browser of its own.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

/** Where Chromium is expected: `CHROMIUM_PATH`, else the first of Debian's paths that exists. */
export function chromiumPath(): string {
  const override = process.env.CHROMIUM_PATH;
  if (override) return override;
  return CANDIDATES.find((path) => existsSync(path)) ?? (CANDIDATES[0] as string);
}

/** Why `--browser` cannot run here, with how to fix it; false when it can. */
export function chromiumMissing(): string | false {
  const path = chromiumPath();
  return (
    !existsSync(path) &&
    `--browser needs Chromium, not found at ${path} (apt-get install -y chromium, or set CHROMIUM_PATH)`
  );
}

/**
 * Flags for a headless Chromium on a machine with no outside network (the page tests'),
 * and none that change how it schedules pages: no background throttling to switch off,
 * since every headless page counts as visible.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches Chromium headless, with `extraArgs` after the usual flags; the caller closes it. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS, ...extraArgs] });
}

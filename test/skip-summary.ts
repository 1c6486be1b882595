/**
 * A node:test reporter that ends the run with what was skipped and why: one line per
 * reason, with how many tests it skipped. It runs beside `spec` (see package.json's test
 * script, and `skip-summary.mjs` for how Node 20 loads it), so a run that passed with less
 * says so where it ends. No file names: Node 20 places a test where `test()` was called,
 * which for a test in a skipped suite is `test/suite.ts`.
 *
 * It also names every suite skipped whole: Node 20 does not declare such a suite's tests,
 * so they are in no count at all. Declare suites with `describe` from `test/suite.ts`.
 */
import { relative } from 'node:path';

/** What this reporter reads of a `test:pass` or `test:fail` event. */
interface TestEvent {
  type: string;
  data: {
    name: string;
    file?: string;
    skip?: string | boolean;
    details?: { type?: string };
  };
}

const tests = (count: number) => `${count} ${count === 1 ? 'test' : 'tests'}`;

/** The skip summary from the count of skipped tests per reason, or '' when nothing was skipped. */
export function summarize(skips: Map<string, number>, wholeSuites: string[]): string {
  const lines: string[] = [];
  const total = [...skips.values()].reduce((sum, count) => sum + count, 0);
  if (total > 0) lines.push(`${tests(total)} skipped:`);
  for (const [reason, count] of [...skips].sort((a, b) => b[1] - a[1])) lines.push(`  ${tests(count)}: ${reason}`);
  for (const suite of wholeSuites) {
    lines.push(`  a whole suite, its tests uncounted: ${suite} (declare it with describe from test/suite.ts)`);
  }
  return lines.length > 0 ? `\n${lines.join('\n')}\n` : '';
}

/** The reporter: reads the run's events and writes the summary when they end. */
export default async function* skipSummary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const skips = new Map<string, number>();
  const wholeSuites: string[] = [];
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { skip, file, name, details } = event.data;
    if (skip === undefined || skip === false) continue;
    if (details?.type === 'suite') {
      wholeSuites.push(`"${name}" in ${file ? relative(process.cwd(), file) : 'an unknown file'}`);
      continue;
    }
    const reason = typeof skip === 'string' && skip !== '' ? skip : 'no reason given';
    skips.set(reason, (skips.get(reason) ?? 0) + 1);
  }
  yield summarize(skips, wholeSuites);
}

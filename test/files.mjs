// The test files npm test runs, in the order it runs them: every *.test.ts under server/,
// bench/, pages/ and test/, with the heavy ones (those that take the heavy slot,
// test/heavy.ts) spread evenly among the light ones, so that while one heavy file runs the
// other place of --test-concurrency=2 finds light files to run rather than a second heavy
// one that would wait for the slot. Prints the paths, one per line.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const MARK = 'takeHeavySlot(';
const ROOTS = ['server', 'bench', 'pages', 'test'];

function testFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === 'node_modules') continue;
    if (statSync(path).isDirectory()) found.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

const files = ROOTS.flatMap(testFiles).sort();
const heavy = files.filter((file) => readFileSync(file, 'utf8').includes(MARK));
const light = files.filter((file) => !heavy.includes(file));
const ordered = [];
const perHeavy = heavy.length === 0 ? 0 : light.length / heavy.length;
let taken = 0;
heavy.forEach((file, index) => {
  ordered.push(file);
  const until = Math.round((index + 1) * perHeavy);
  while (taken < until) ordered.push(light[taken++]);
});
ordered.push(...light.slice(taken));
console.log(ordered.join('\n'));

/**
 * node:test's `describe`, `test` and hooks, with one difference: a suite declared with
 * `skip` still declares its tests, each skipped with the suite's reason.
 *
 * Node 20 runs a skipped suite's body as a no-op, so its tests are never declared: the run
 * says `skipped 0` and simply has fewer tests. Here the body runs, every `test` or `it` in
 * it (at any depth) is declared with `{ skip: reason }`, so each shows `# <reason>` and
 * counts in `skipped`, and every hook in it is dropped, so nothing the missing tool was
 * needed for (a browser launch, a Redis connection) is attempted. Outside a skipped suite
 * these are node:test's own functions, unchanged.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as nodeTest from 'node:test';

/** The reason of the skipped suite being declared, if any. */
const skipping = new AsyncLocalStorage<string>();

type Declare = (...args: unknown[]) => unknown;

/** Splits node:test's `(name?, options?, fn?)` arguments. */
function parts(args: unknown[]): { name: unknown; options: Record<string, unknown>; fn: unknown } {
  const fn = args.find((arg) => typeof arg === 'function');
  const options = args.find((arg) => typeof arg === 'object' && arg !== null) as Record<string, unknown> | undefined;
  const name = typeof args[0] === 'string' ? args[0] : (fn as { name?: string } | undefined)?.name;
  return { name, options: options ?? {}, fn };
}

/** A reason for `skip` as node:test takes it: a string, or true for none given. */
function reasonOf(skip: unknown): string | undefined {
  if (typeof skip === 'string' && skip !== '') return skip;
  return skip === true ? 'skipped' : undefined;
}

/** `wrapper`, with the shortcuts node:test hangs on `declare` (`.skip`, `.todo`, `.only`), untouched. */
function keepingShortcuts<T>(declare: T, wrapper: Declare): T {
  return Object.assign(wrapper, declare) as T;
}

/** A test declaration that, inside a skipped suite, declares the test skipped with its reason. */
function skippable<T>(declare: T): T {
  return keepingShortcuts(declare, (...args: unknown[]) => {
    const reason = skipping.getStore();
    if (reason === undefined) return (declare as Declare)(...args);
    const { name, options, fn } = parts(args);
    return (declare as Declare)(name, { ...options, skip: reason }, fn);
  });
}

/** A hook that, inside a skipped suite, is not registered: nothing it sets up is needed. */
function droppable<T>(register: T): T {
  return ((...args: unknown[]) => {
    if (skipping.getStore() === undefined) return (register as Declare)(...args);
    return undefined;
  }) as T;
}

/** A suite declaration whose `skip` (or an enclosing suite's) skips each of its tests, counted. */
function suiteDeclaration<T>(declare: T): T {
  return keepingShortcuts(declare, (...args: unknown[]) => {
    const { name, options, fn } = parts(args);
    const reason = skipping.getStore() ?? reasonOf(options.skip);
    if (reason === undefined) return (declare as Declare)(...args);
    const { skip: _skip, ...rest } = options;
    const body = fn as (...bodyArgs: unknown[]) => unknown;
    return (declare as Declare)(name, rest, (...bodyArgs: unknown[]) => skipping.run(reason, () => body(...bodyArgs)));
  });
}

/** node:test's `describe`; with `skip`, its tests are declared skipped instead of vanishing. */
export const describe: typeof nodeTest.describe = suiteDeclaration(nodeTest.describe);
/** node:test's `suite`; with `skip`, its tests are declared skipped instead of vanishing. */
export const suite: typeof nodeTest.suite = suiteDeclaration(nodeTest.suite);
/** node:test's `test`; inside a skipped suite, declared skipped with the suite's reason. */
export const test: typeof nodeTest.test = skippable(nodeTest.test);
/** node:test's `it`; inside a skipped suite, declared skipped with the suite's reason. */
export const it: typeof nodeTest.it = skippable(nodeTest.it);
/** node:test's `before`; not registered inside a skipped suite. */
export const before: typeof nodeTest.before = droppable(nodeTest.before);
/** node:test's `after`; not registered inside a skipped suite. */
export const after: typeof nodeTest.after = droppable(nodeTest.after);
/** node:test's `beforeEach`; not registered inside a skipped suite. */
export const beforeEach: typeof nodeTest.beforeEach = droppable(nodeTest.beforeEach);
/** node:test's `afterEach`; not registered inside a skipped suite. */
export const afterEach: typeof nodeTest.afterEach = droppable(nodeTest.afterEach);
export type { TestContext } from 'node:test';

/**
 * `npm run bench`: parses the flags, runs the bench with progress on stderr, prints the
 * table, and writes the results folder. With `--json`, stdout carries results.json and
 * nothing else. Exit codes: 0 done, 1 the run failed, 2 bad usage.
 */
import { EventEmitter } from 'node:events';
import { relative, resolve } from 'node:path';
import { type BenchEvent, checkServer, runBench } from './engine.ts';
import { type BenchOptions, DEFAULT_OUT, HELP, parseOptions, UsageError } from './options.ts';
import type { Protocol } from './protocols/protocol.ts';
import { runProtocolBench } from './protocols/bench.ts';
import { renderProtocols } from './report/protocols.ts';
import { ms } from './report/format.ts';
import { renderTable } from './report/table.ts';
import { renderBackplane } from './report/backplane.ts';
import { renderIntermediaries } from './report/intermediaries.ts';
import { writeReport } from './report/write.ts';
import { browserClientsWarning } from './browser/capacity.ts';
import { runStrategiesBench } from './strategies/bench.ts';
import { deliveryFailure } from './strategies/figures.ts';
import { renderStrategies } from './report/strategies.ts';
import { crowdMain } from './crowd/main.ts';
import type { PeersSelection } from './peers/names.ts';
import { renderPeers } from './report/peers.ts';
import { runStormBench, stormFailure } from './storm/bench.ts';
import { renderStorm } from './report/storm.ts';

async function main(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\nRun "npm run bench -- --help" for the options.\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(HELP);
    return 0;
  }

  if (options.protocols) return protocolMain({ ...options, protocols: options.protocols });

  if (options.strategies) return strategiesMain(options);
  if (options.crowd) return crowdMain({ ...options, crowd: options.crowd });
  if (options.peers) return peersMain({ ...options, peers: options.peers });
  if (options.storm) return stormMain(options);
  // A --url that does not answer is said at once, before any estimate of the run.
  if (options.url) await checkServer(options.url);
  const events = new EventEmitter();
  const progress = new Progress(process.stderr);
  events.on('event', (event: BenchEvent) => progress.show(event));
  const kinds = options.clientKinds;
  // With --intermediary each technique runs direct, then behind each one; with a list of
  // round trips, once per trip; and once per kind of client.
  const perTechnique =
    (options.intermediaries.length > 0 ? 1 + options.intermediaries.length : 1) * (options.network?.rttMs.length ?? 1);
  const runs = options.clients.length * options.techniques.length * kinds.length * perTechnique;
  // Per run: the duration, ~3 s to start a server and drain, and connecting the clients
  // (a Chromium page takes some 0.15 s to open on 2 cores, a Node client 3 ms).
  const perClientSec = kinds.reduce((sum, kind) => sum + (kind === 'browser' ? 0.15 : 0.003), 0);
  const estimateSec = options.clients.reduce(
    (sum, clients) =>
      sum +
      perTechnique * options.techniques.length * (kinds.length * (options.durationSec + 3) + clients * perClientSec),
    0,
  );
  const estimate = estimateSec < 90 ? `${Math.ceil(estimateSec / 5) * 5} s` : `${Math.round(estimateSec / 60)} min`;
  const kindWords = kinds.length > 1 || kinds[0] !== 'node' ? `; ${kinds.join(' and ')} clients` : '';
  progress.note(
    `bench: ${runs} run${runs > 1 ? 's' : ''} (${options.techniques.join(', ')}; ${options.clients.join(', ')} clients${kindWords}), about ${estimate}`,
  );
  const tooMany = kinds.includes('browser') ? browserClientsWarning(Math.max(...options.clients)) : null;
  if (tooMany) progress.note(`bench: warning: ${tooMany}`);

  const result = await runBench(options, events);
  progress.clear();
  const files = await writeReport(result, options.out);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`\n${renderTable(result)}`);
    const backplane = renderBackplane(result);
    if (backplane) process.stdout.write(`\n${backplane}`);
    const intermediaries = renderIntermediaries(result);
    if (intermediaries) process.stdout.write(`\n${intermediaries}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    const shown = relative(process.cwd(), options.out);
    const where = shown === '' ? '.' : shown.startsWith('..') ? resolve(options.out) : shown;
    const served = resolve(options.out) === resolve(DEFAULT_OUT) ? ' (or /results/ while npm start runs)' : '';
    process.stdout.write(`\nwrote ${files.length} files to ${where}/: open index.html${served}, or read summary.md\n`);
  }
  return 0;
}

/** --http/--tls: the protocol comparison, its table, its files. */
async function protocolMain(options: BenchOptions & { protocols: Protocol[] }): Promise<number> {
  const progress = new Progress(process.stderr);
  progress.note(
    `bench: ${options.techniques.join(', ')} over ${options.protocols.join(', ')} (${options.clients[0]} clients, ${options.durationSec} s each, a fresh server per run)`,
  );
  const result = await runProtocolBench(options, (index, total, plan) =>
    progress.note(
      `[${index + 1}/${total}] ${plan.technique.id} over ${plan.wire}${plan.sharing === 'shared' ? ', one shared session' : ''}`,
    ),
  );
  const files = await writeReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`\n${renderProtocols(result) ?? ''}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(
      `\nwrote ${files.length} files to ${relative(process.cwd(), options.out) || '.'}/: open index.html, or read summary.md\n`,
    );
  }
  return 0;
}

/**
 * `--strategies`: the auto client's cases in Chromium. The files are written either way,
 * and a case that lost or repeated a message fails the run (exit 1), as a lost message
 * is a bug, not a figure.
 */
async function strategiesMain(options: NonNullable<ReturnType<typeof parseOptions>>): Promise<number> {
  const cases = (options.strategies?.length ?? 0) * options.blockSets.length;
  process.stderr.write(
    `bench: ${cases} strategy case${cases > 1 ? 's' : ''}, ${options.clients[0]} Chromium clients each, about ${Math.ceil((cases * (options.durationSec + 5)) / 5) * 5} s\n`,
  );
  const result = await runStrategiesBench(options, (line) => process.stderr.write(`${line}\n`));
  await writeReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`\n${renderStrategies(result)}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(
      `\nwrote ${relative(process.cwd(), options.out) || '.'}/: open index.html, or read summary.md\n`,
    );
  }
  const failure = result.strategies ? deliveryFailure(result.strategies) : null;
  if (failure) {
    process.stderr.write(`\nbench: failed: the auto clients lost or repeated messages: ${failure}\n`);
    return 1;
  }
  return 0;
}

/**
 * `--peers`: realtime-lab's techniques beside the established libraries. The files are
 * written either way; a row that lost or repeated messages is in the warnings (socket.io
 * and SockJS deliver at most once by design: a loss there is a finding, not a bench
 * fault), and one of realtime-lab's fails the run (exit 1), as a lost message is a bug.
 */
async function peersMain(options: BenchOptions & { peers: PeersSelection }): Promise<number> {
  // Loaded here alone: the peers' client libraries are nothing the other runs need.
  const { runPeersBench, targetsFor } = await import('./peers/bench.ts');
  const targets = targetsFor(options, options.peers);
  const rows = targets.length;
  // Per row and round: ~4 s to start, calibrate and warm up, the idle connections (opened
  // twice, ~0.5 ms each; ~4 s of waits between and after, and what a server keeps after
  // a hang-up), the publishing and up to ~1 s to drain. (Measured: 45 rows of 2,000 idle
  // connections and 5 s of publishing in 11 min 47 s.)
  const idleSec = (target: (typeof targets)[number]) =>
    options.peers.idleClients > 0 ? 4 + target.keepsClosedMs / 1000 + options.peers.idleClients * 0.001 : 0;
  const estimate =
    options.peers.rounds * targets.reduce((sum, target) => sum + 5 + idleSec(target) + options.durationSec, 0);
  process.stderr.write(
    `bench: --peers, ${rows} rows (${options.clients[0]} subscribers at ${options.rate} msg/s for ${options.durationSec} s, then ${options.peers.idleClients} idle), about ${estimate < 90 ? `${Math.ceil(estimate / 5) * 5} s` : `${Math.round(estimate / 60)} min`}\n`,
  );
  const result = await runPeersBench(options, (line) => process.stderr.write(`${line}\n`));
  const files = await writeReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`\n${renderPeers(result) ?? ''}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(
      `\nwrote ${files.length} files to ${relative(process.cwd(), options.out) || '.'}/: open index.html, or read summary.md\n`,
    );
  }
  const broken = (result.peers?.rows ?? []).filter(
    (r) => r.side === 'realtime-lab' && (r.lost > 0 || r.duplicates > 0),
  );
  if (broken.length > 0) {
    process.stderr.write(
      `\nbench: failed: realtime-lab lost or repeated messages: ${broken.map((r) => `${r.name} ${r.lost} lost, ${r.duplicates} duplicated`).join('; ')}\n`,
    );
    return 1;
  }
  return 0;
}

/**
 * `--storm`: each technique's reconnect storm, with and without jitter. The files are
 * written either way; a storm that lost, repeated or gapped a message, or left a client
 * behind, fails the run (exit 1).
 */
async function stormMain(options: NonNullable<ReturnType<typeof parseOptions>>): Promise<number> {
  const clients = options.clients[0] as number;
  const trials = options.techniques.length * 2;
  process.stderr.write(
    `bench: reconnect storm, ${options.techniques.join(', ')}, ${clients} clients, with and without jitter: ${trials} restarts, about ${Math.ceil((trials * (12 + clients * 0.004)) / 60)} min\n`,
  );
  // Stopped by a signal, the bench still exits through 'exit', where its servers and its Redis are killed.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const started = performance.now();
  const result = await runStormBench(options, (line) =>
    process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`),
  );
  await writeReport(result, options.out);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    process.stdout.write(`\n${renderStorm(result)}`);
    for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
    process.stdout.write(
      `\nwrote ${relative(process.cwd(), options.out) || '.'}/: open index.html, or read summary.md\n`,
    );
  }
  const failure = result.storm ? stormFailure(result.storm) : null;
  if (failure) {
    process.stderr.write(`\nbench: failed: the storm broke a guarantee: ${failure}\n`);
    return 1;
  }
  return 0;
}

/**
 * Progress on stderr: one rewritten line on a terminal, plain lines otherwise (CI logs),
 * never on stdout, so `--json` stays clean.
 */
class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastPlain = 0;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  note(text: string): void {
    this.clear();
    this.#stream.write(`${text}\n`);
  }

  show(event: BenchEvent): void {
    if (event.type === 'phase') {
      const line = `[${event.index + 1}/${event.total}] ${event.technique}, ${event.clients} clients: ${event.step}`;
      if (this.#tty) this.#line(line);
      else this.#stream.write(`${line}\n`);
    } else if (event.type === 'progress') {
      const share = event.expected > 0 ? ` · delivered ${Math.floor((event.delivered / event.expected) * 100)}%` : '';
      const line = `    ${event.technique}: ${(event.elapsedMs / 1000).toFixed(1)} of ${(event.durationMs / 1000).toFixed(0)} s · published ${event.published}${share}`;
      if (this.#tty) this.#line(line);
      else if (performance.now() - this.#lastPlain > 5000) {
        this.#lastPlain = performance.now();
        this.#stream.write(`${line}\n`);
      }
    } else {
      const r = event.result;
      const verdict =
        r.messagesExpected === 0
          ? 'nothing published'
          : r.lost === 0 && r.duplicates === 0
            ? `all ${r.messagesDelivered} delivered`
            : `${r.lost} lost, ${r.duplicates} duplicated`;
      this.note(
        `✓ ${r.technique} (${r.clients} clients${r.intermediary && r.intermediary.name !== 'none' ? `, behind ${r.intermediary.name}` : ''}): ${verdict}, ${r.httpRequests} requests, p99 ${r.latencyMs ? `${ms(r.latencyMs.p99)} ms` : '–'}`,
      );
    }
  }

  clear(): void {
    if (this.#tty) this.#stream.write('\r\x1b[K');
  }

  #line(text: string): void {
    const width = this.#stream.columns || 100;
    this.#stream.write(`\r\x1b[K${text.slice(0, width - 1)}`);
  }
}

// Interrupted (Ctrl-C, or a parent's SIGTERM): exit through process.exit, so the 'exit'
// handler in server-process.ts ends the servers this bench started.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nbench: failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);

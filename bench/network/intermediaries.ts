/**
 * The intermediaries the bench can put between subscribers and the server
 * (`--intermediary NAME[=VALUE],...`), each one real software in front of the real server:
 * our own proxies (`http-proxy.ts`, `idle-cut-proxy.ts`) playing the habits of antivirus
 * scanners, corporate proxies and load balancers, and Debian's nginx as docs/scale-out.md
 * configures it (`nginx.ts`). The publisher and the bench's own requests go direct.
 */
import { HttpProxy } from './http-proxy.ts';
import { IdleCutProxy } from './idle-cut-proxy.ts';
import { type Listen, LOOPBACK } from './listen.ts';
import { startNginx } from './nginx.ts';

/** One intermediary as named on the command line. */
export interface IntermediarySpec {
  /** As written: `buffering`, `buffering=64`, `idle-cut=10`. */
  label: string;
  kind: IntermediaryKind;
  /** The kind's parameter, in its unit (KiB for the buffering ones, seconds for idle-cut). */
  value: number | null;
}

type IntermediaryKind =
  | 'none'
  | 'buffering'
  | 'buffering-first'
  | 'strip-upgrade'
  | 'idle-cut'
  | 'nginx'
  | 'nginx-buffered';

/** What each name means, its parameter's default and unit: the help text and docs/intermediaries.md say the same. */
export const INTERMEDIARIES: Readonly<
  Record<IntermediaryKind, { summary: string; default: number | null; unit?: string; max?: number }>
> = Object.freeze({
  none: { summary: 'no intermediary: the baseline every other column is judged against', default: null },
  buffering: {
    summary: 'holds every response body until it has VALUE KiB or ends (antivirus, corporate proxies)',
    default: 4,
    unit: 'KiB',
    max: 1024,
  },
  'buffering-first': {
    summary: 'holds only the first VALUE KiB of each response, then forwards as it comes (a content sniffer)',
    default: 4,
    unit: 'KiB',
    max: 1024,
  },
  'strip-upgrade': {
    summary: 'drops Upgrade and Connection: upgrade, so a WebSocket handshake becomes a plain GET',
    default: null,
  },
  'idle-cut': {
    summary: 'closes a connection after VALUE s without a byte either way (load balancers: 60 s)',
    default: 60,
    unit: 's',
    max: 3600,
  },
  nginx: { summary: "Debian's nginx with docs/scale-out.md's configuration (proxy_buffering off)", default: null },
  'nginx-buffered': { summary: 'the same nginx with proxy_buffering on, its own default', default: null },
});

/** The direct baseline, run before each technique's intermediaries. */
export const DIRECT: IntermediarySpec = Object.freeze({ label: 'none', kind: 'none', value: null });

/** Parses `--intermediary`'s list; throws an Error whose message names the bad item. */
export function parseIntermediaries(raw: string): IntermediarySpec[] {
  const specs = raw.split(',').map((item) => parseOne(item.trim()));
  if (new Set(specs.map((s) => s.label)).size !== specs.length) throw new Error('an intermediary is listed twice');
  // The baseline runs anyway; naming it changes nothing.
  return specs.filter((spec) => spec.kind !== 'none');
}

function parseOne(item: string): IntermediarySpec {
  const [name = '', given] = item.split('=');
  const known = Object.keys(INTERMEDIARIES);
  if (!known.includes(name))
    throw new Error(`unknown intermediary ${JSON.stringify(name)}; known: ${known.join(', ')}`);
  const kind = name as IntermediaryKind;
  const about = INTERMEDIARIES[kind];
  if (given === undefined) return { label: name, kind, value: about.default };
  if (about.default === null) throw new Error(`${name} takes no value`);
  const value = Number(given);
  if (!/^\d+(\.\d+)?$/.test(given) || value <= 0 || value > (about.max ?? Number.POSITIVE_INFINITY))
    throw new Error(`${name}=${given}: expected a number of ${about.unit} in (0, ${about.max}]`);
  return { label: item, kind, value };
}

/** What an intermediary itself saw of a run (null where it cannot see it: nginx, a TCP proxy's statuses). */
export interface IntermediaryFigures {
  /** Client connections it accepted. */
  connections: number | null;
  /** The server's answers by status code, as an HTTP-aware proxy passed them on. */
  statuses: Record<string, number> | null;
  /** Connections it closed for being idle. */
  idleCuts: number | null;
}

/** An intermediary running in front of one server. */
export interface RunningIntermediary {
  url: string;
  figures(): IntermediaryFigures;
  close(): Promise<void>;
}

/** Starts `spec` in front of the server at `target`, listening on `listen` (a free loopback port by default). */
export async function startIntermediary(
  spec: IntermediarySpec,
  target: { host: string; port: number },
  listen: Listen = LOOPBACK,
): Promise<RunningIntermediary> {
  switch (spec.kind) {
    case 'none':
      throw new Error('the direct baseline has no intermediary to start');
    case 'buffering':
    case 'buffering-first':
    case 'strip-upgrade': {
      const proxy = await HttpProxy.start(
        target,
        spec.kind === 'strip-upgrade'
          ? { stripUpgrade: true }
          : { holdBytes: (spec.value ?? 4) * 1024, hold: spec.kind === 'buffering' ? 'every' : 'first' },
        listen,
      );
      return {
        url: proxy.url,
        figures: () => ({ connections: proxy.stats.connections, statuses: proxy.stats.statuses, idleCuts: null }),
        close: () => proxy.close(),
      };
    }
    case 'idle-cut': {
      const proxy = await IdleCutProxy.start(target, (spec.value ?? 60) * 1000, listen);
      return {
        url: proxy.url,
        figures: () => ({ connections: proxy.stats.accepted, statuses: null, idleCuts: proxy.stats.cut }),
        close: () => proxy.close(),
      };
    }
    case 'nginx':
    case 'nginx-buffered': {
      const nginx = await startNginx(`${target.host}:${target.port}`, {
        buffering: spec.kind === 'nginx-buffered',
        listen,
      });
      return {
        url: nginx.url,
        figures: () => ({ connections: null, statuses: null, idleCuts: null }),
        close: () => nginx.stop(),
      };
    }
  }
}

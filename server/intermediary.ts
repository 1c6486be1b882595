/**
 * `npm start -- --intermediary NAME[=VALUE]` (or `INTERMEDIARY=`): the pages and the API
 * served through one of the bench's hostile intermediaries (bench/network/intermediaries.ts),
 * so that a class sees on the side-by-side page what a buffering proxy, an
 * Upgrade-stripping proxy or an idle-cutting load balancer does to each technique. The
 * intermediary takes the address and port the app would have had; with `--network` too,
 * it forwards to the shaper, which forwards to the app: client → intermediary → shaper →
 * app, as an antivirus scanner or a corporate proxy sits on the client's side of the
 * network (a load balancer sits on the server's, but a cut after N idle seconds is the
 * same wherever the clock runs).
 */
import {
  INTERMEDIARIES,
  type IntermediarySpec,
  parseIntermediaries,
  type RunningIntermediary,
  startIntermediary,
} from '../bench/network/intermediaries.ts';
import type { Listen } from '../bench/network/listen.ts';
import { techniques, withCapabilities } from './contract/techniques.js';

/** The intermediary named, null for none (unset, empty or `none`); a bad name or value throws a RangeError listing the known ones. */
export function intermediaryOf(raw: string | undefined): IntermediarySpec | null {
  if (raw === undefined || raw === '' || raw === 'none') return null;
  if (raw.includes(',')) throw new RangeError(`one intermediary at a time in front of the pages, not ${raw}`);
  try {
    return parseIntermediaries(raw)[0] ?? null;
  } catch (error) {
    throw new RangeError((error as Error).message);
  }
}

/** Starts `spec` on `listen`, forwarding to `target` (the shaper, or the app on 127.0.0.1). */
export function intermediaryInFront(
  spec: IntermediarySpec,
  target: { host: string; port: number },
  listen: Listen,
): Promise<RunningIntermediary> {
  return startIntermediary(spec, target, listen);
}

/**
 * The panels of the techniques with these capabilities as a sentence's subject, its verb
 * agreeing: `panels({ upgrades: true }, 'fails', 'fail')` is "the WebSocket panel fails".
 */
function panels(wanted: Parameters<typeof withCapabilities>[0], one: string, many: string): string {
  const titles = withCapabilities(wanted).map((entry) => entry.title);
  if (titles.length === 0) return `no panel ${one}`;
  if (titles.length === 1) return `the ${titles[0]} panel ${one}`;
  return `the ${titles.slice(0, -1).join(', ')} and ${titles.at(-1)} panels ${many}`;
}

/** What the start-up message says: which proxy, its parameter, where it forwards, and what the side-by-side page will show. */
export function describeIntermediary(
  spec: IntermediarySpec,
  behind: string,
  timings: { heartbeatMs: number; longPollTimeoutMs: number },
): string[] {
  const about = INTERMEDIARIES[spec.kind];
  const summary = about.summary.replace('VALUE', String(spec.value));
  const lines = [`intermediary ${spec.label}: ${summary}; in front of ${behind}`];
  // Streamed over a plain HTTP response: what a buffering proxy holds. An upgraded
  // connection is tunnelled as raw bytes, and a polling answer ends, which releases it.
  const httpStreams = { streams: true, upgrades: false };
  const upgrading = { upgrades: true };
  const polling = { streams: false };
  switch (spec.kind) {
    case 'buffering':
      lines.push(
        `expect: ${panels(httpStreams, 'connects', 'connect')} (the headers pass) but show nothing until ${spec.value} KiB of the stream have passed, then a burst, then nothing again, saying how long nothing has arrived; ${panels(polling, 'works', 'work')} (an answer that ends is released at once); ${panels(upgrading, 'works', 'work')} (tunnelled untouched).`,
      );
      break;
    case 'buffering-first':
      lines.push(
        `expect: ${panels(httpStreams, 'shows', 'show')} nothing until the first ${spec.value} KiB have passed (set the ticker to 20/s to fill it sooner), then as direct; ${panels({ upgrades: false, streams: false }, 'works', 'work')}, and ${panels(upgrading, 'works', 'work')}. A stream asked with ?padding=${(spec.value ?? 4) * 1024} passes at once.`,
      );
      break;
    case 'strip-upgrade':
      lines.push(
        `expect: ${panels(upgrading, 'fails', 'fail')} its handshake (the server answers 426 to a GET without Upgrade; the browser only reports close code 1006) and keeps retrying with backoff; the composer falls back to POST; ${panels({ upgrades: false }, 'works', 'work')}.`,
      );
      break;
    case 'idle-cut': {
      const limitMs = (spec.value ?? 60) * 1000;
      const cut = [
        limitMs < timings.heartbeatMs &&
          `${panels({ streams: true }, 'is', 'are')} cut after ${spec.value} s without a byte (under HEARTBEAT_MS, ${timings.heartbeatMs} ms) and reconnect`,
        limitMs < timings.longPollTimeoutMs &&
          `${panels({ holdsRequest: true, streams: false }, 'has', 'have')} its request cut while held (under LONG_POLL_TIMEOUT_MS, ${timings.longPollTimeoutMs} ms) and asks again`,
      ].filter(Boolean);
      lines.push(
        cut.length > 0
          ? `expect: ${cut.join('; ')}; ${panels({ pollsWhenIdle: true }, 'talks', 'talk')} too often to be cut. Only while the feed is quiet (ticker off): a message resets the clock. Messages still arrive; watch the reconnects.`
          : `expect: nothing to see: every connection talks before ${spec.value} s (heartbeats every ${timings.heartbeatMs} ms, long polls answered after ${timings.longPollTimeoutMs} ms). Try idle-cut=5.`,
      );
      break;
    }
    case 'nginx':
      lines.push(
        `expect: all ${techniques.length} panels as direct (proxy_buffering off, WebSocket upgraded by nginx).`,
      );
      break;
    case 'nginx-buffered':
      lines.push(
        `expect: all ${techniques.length} panels as direct: the streamed responses send X-Accel-Buffering: no, which turns nginx's buffering off for them.`,
      );
      break;
    case 'none':
      break;
  }
  return lines;
}

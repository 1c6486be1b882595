/**
 * The protocols the bench can speak to the server (`--http 1.1|2`, `--tls`): plain
 * HTTP/1.1, HTTP/1.1 over TLS, and HTTP/2 (over TLS only, as browsers speak it). Which
 * runs a protocol list makes, per technique: a technique that upgrades goes over an
 * HTTP/1.1 Upgrade whatever was asked (the server speaks no RFC 8441), and on HTTP/2 the
 * other techniques run twice, one session per client and all clients as streams of one
 * session (what a browser's tabs do).
 */
import type { Technique } from '../../server/contract/techniques.js';

/** What was on the wire: `http/1.1` plain text, `http/1.1+tls`, or `h2` (always over TLS). */
export type Protocol = 'http/1.1' | 'http/1.1+tls' | 'h2';
export const PROTOCOLS: readonly Protocol[] = ['http/1.1', 'http/1.1+tls', 'h2'];

/** How subscribers share connections: one each, or every one a stream of one HTTP/2 session. */
export type Sharing = 'per-client' | 'shared';

/** One run of the protocol comparison: a technique over a protocol, with its connections shared or not. */
export interface ProtocolPlan {
  technique: Technique;
  /** What the run asked for. */
  protocol: Protocol;
  /** What went on the wire: a WebSocket asked for over `h2` is an HTTP/1.1 Upgrade over TLS. */
  wire: Protocol;
  sharing: Sharing;
}

export const usesTls = (protocol: Protocol): boolean => protocol !== 'http/1.1';

/**
 * The protocols of `--http VERSIONS` (`1.1`, `2`, or both) and `--tls`: `1.1` is plain
 * text, and with `--tls` HTTP/1.1 over TLS as well (so a run holds what TLS costs beside
 * what it does not); `2` is h2 over TLS. Throws a message for the CLI on anything else.
 */
export function protocolsOf(versions: readonly string[], tls: boolean): Protocol[] {
  const protocols: Protocol[] = [];
  for (const version of versions) {
    if (version === '1.1') protocols.push('http/1.1', ...(tls ? (['http/1.1+tls'] as const) : []));
    else if (version === '2') protocols.push('h2');
    else throw new Error(`expected 1.1 or 2 (1.1,2 for both), got ${JSON.stringify(version)}`);
  }
  if (new Set(protocols).size !== protocols.length) throw new Error('a version is listed twice');
  // `--http 2 --tls` alone: h2 is over TLS already, so --tls adds nothing; a TLS HTTP/1.1 baseline is worth having.
  if (tls && !protocols.includes('http/1.1+tls')) protocols.unshift('http/1.1+tls');
  return protocols;
}

/** The runs a technique makes over `protocols`, in order. */
export function plansFor(technique: Technique, protocols: readonly Protocol[]): ProtocolPlan[] {
  return protocols.flatMap((protocol): ProtocolPlan[] => {
    if (protocol !== 'h2') return [{ technique, protocol, wire: protocol, sharing: 'per-client' }];
    if (technique.capabilities.upgrades) return [{ technique, protocol, wire: 'http/1.1+tls', sharing: 'per-client' }];
    return [
      { technique, protocol, wire: 'h2', sharing: 'per-client' },
      { technique, protocol, wire: 'h2', sharing: 'shared' },
    ];
  });
}

/**
 * The Host check, against DNS rebinding: every request must name, in its Host header, a
 * name this server answers to (421 otherwise), so a page on a DNS-rebinding domain cannot
 * pass for this server's own. The origin policy (origin.ts) relies on the Host it vouches for.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyRequest } from 'fastify';
import type { Config } from './config.ts';
import { BadHost, MisdirectedHost } from './errors.ts';

/**
 * Names every server answers to, whatever HOST says. Not `*.localhost`: browsers resolve
 * those to loopback by themselves, but other resolvers may ask DNS, where a hostile
 * resolver can answer, and nothing here uses them (ALLOWED_HOSTS can name one).
 */
const LOOPBACK_HOSTNAMES = ['localhost', '127.0.0.1', '[::1]'];
/** HOST values that mean every interface, which name no host. */
const WILDCARD_HOSTS = ['0.0.0.0', '::', '[::]'];
/** A Host header: a name (letters, digits, `.`, `-`, `_`) or an IP literal (IPv6 in brackets), then maybe a port. */
const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::\d{0,5})?$/i;

/**
 * The hostname a Host header value names, written as a browser writes it (lowercase, IP
 * literals in canonical form, IPv6 in brackets), its port dropped; null when the value is
 * not `hostname[:port]`.
 */
export function hostnameOf(host: string): string | null {
  const known = knownHostnames.get(host);
  if (known !== undefined) return known;
  const hostname = parseHostname(host);
  // Forgotten all at once when full: a client that names a new host each time only refills it.
  if (knownHostnames.size >= HOSTNAMES_KEPT) knownHostnames.clear();
  knownHostnames.set(host, hostname);
  return hostname;
}

/**
 * hostnameOf's answers for the Host values seen lately. Every request is checked, a server
 * is named a handful of ways, and WHATWG URL parsing took ~3.5 µs of a long poll's ~47 µs
 * of JavaScript (a profile of the bench's long-polling row).
 */
const knownHostnames = new Map<string, string | null>();
const HOSTNAMES_KEPT = 64;

function parseHostname(host: string): string | null {
  const match = HOST_HEADER.exec(host);
  if (!match) return null;
  try {
    return new URL(`http://${match[1] as string}/`).hostname;
  } catch {
    return null; // e.g. 999.1.1.1: shaped like an address, but none
  }
}

/** An interface address (`::ffff:192.0.2.2`, `fe80::1%eth0`, `127.0.0.1`) as the hostname a browser would send for it. */
function addressHostname(address: string | undefined): string | null {
  if (!address) return null;
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').replace(/%.*$/, '');
  return hostnameOf(plain.includes(':') ? `[${plain}]` : plain);
}

/**
 * The Host check, against DNS rebinding. A page on evil.example, whose DNS answer is
 * switched to this server's address, is same-origin with this server as far as the
 * browser knows: it may read every answer and open WebSockets with its own Origin, which
 * matches its own Host. Only the Host header carries the name the page used, so it must be
 * one the server answers to: localhost, 127.0.0.1, [::1], HOST (unless it is 0.0.0.0 or
 * ::), the names in ALLOWED_HOSTS, or the address the client's connection reached (the
 * teacher's LAN address when HOST=0.0.0.0: taken from the socket, so an address that
 * came up after the start counts at once). An attacker's DNS name is none of these; the
 * port is not checked, since the attacker picks the name, not the port. Anything else gets
 * 421 Misdirected Request (this server is not the one for that name), before any page,
 * API answer or WebSocket upgrade.
 *
 * No Host at all is let through for HTTP/1.0 only: HTTP/1.1 requires it, and a browser
 * always sends it, so its absence is never a page's request. Two Host headers, or one
 * that is not `hostname[:port]`, get 400: a proxy and this server could read them
 * differently.
 *
 * Returns the check, to run on every request; it throws the 4xx.
 */
export function hostCheck(config: Pick<Config, 'host' | 'allowedHosts'>): (request: FastifyRequest) => void {
  const names = new Set(LOOPBACK_HOSTNAMES);
  if (!WILDCARD_HOSTS.includes(config.host)) {
    const own = hostnameOf(
      config.host.includes(':') && !config.host.startsWith('[') ? `[${config.host}]` : config.host,
    );
    if (own !== null) names.add(own);
  }
  for (const name of config.allowedHosts) {
    const allowed = hostnameOf(name);
    if (allowed !== null) names.add(allowed);
  }
  return (request) => {
    const hosts = hostHeaders(request.raw);
    if (hosts.length > 1) throw new BadHost(`got ${hosts.length} Host headers; a request carries one`);
    const [host] = hosts;
    if (host === undefined) {
      if (request.raw.httpVersionMajor === 1 && request.raw.httpVersionMinor === 0) return;
      throw new BadHost('an HTTP/1.1 request must carry a Host header naming this server');
    }
    const hostname = hostnameOf(host);
    if (hostname === null) throw new BadHost(`Host must be hostname[:port], got ${JSON.stringify(host)}`);
    if (names.has(hostname) || hostname === addressHostname(request.raw.socket.localAddress)) return;
    throw new MisdirectedHost(JSON.stringify(hostname));
  };
}

/**
 * Every name a request gives for the host: its Host headers (Node keeps only the first in
 * `headers`), or on HTTP/2 its `:authority`, which stands for Host there (RFC 9113, 8.3.1).
 * An HTTP/2 request that also carries a Host naming something else gives both, and is
 * refused as carrying two.
 */
function hostHeaders(raw: IncomingMessage): string[] {
  const hosts: string[] = [];
  const authorities: string[] = [];
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    const name = (raw.rawHeaders[i] as string).toLowerCase();
    if (name === 'host') hosts.push(raw.rawHeaders[i + 1] as string);
    else if (name === ':authority') authorities.push(raw.rawHeaders[i + 1] as string);
  }
  if (authorities.length === 0) return hosts;
  return [...authorities, ...hosts.filter((host) => host !== authorities[0])];
}

/** The host a request names (Host, or `:authority` on HTTP/2), as it wrote it; undefined if none. */
export function authorityOf(raw: IncomingMessage): string | undefined {
  return hostHeaders(raw)[0];
}

/**
 * The protocol comparison (`--http 1.1,2 --tls`) as a table and charts: the same
 * technique over plain HTTP/1.1, HTTP/1.1 over TLS and HTTP/2, side by side, from one run.
 * Every figure was counted by the bench's own clients on their sockets (bench/protocols/).
 */
import type { ChartConfiguration } from 'chart.js';
import type { Protocol, Sharing } from '../protocols/protocol.ts';
import type { ProtocolResult } from '../protocols/run.ts';
import type { BenchResult } from '../result.ts';
import { type NamedChart, baseOptions } from './charts.ts';
import { fixed, ms } from './format.ts';

/** A run's column name: the protocol, and for HTTP/2 whether its clients shared one session. */
export function protocolLabel(row: Pick<ProtocolResult, 'protocol' | 'wire' | 'sharing'>): string {
  if (row.protocol === 'h2' && row.wire !== 'h2') return 'h2 page (WebSocket: HTTP/1.1 Upgrade, wss://)';
  if (row.wire === 'h2') return row.sharing === 'shared' ? 'h2, one shared session' : 'h2, a session per client';
  return row.wire === 'http/1.1' ? 'HTTP/1.1' : 'HTTP/1.1 + TLS';
}

/** Greys, lightest for plain HTTP/1.1: colours are the techniques', in every chart. */
const COLORS: Record<string, string> = {
  'http/1.1 per-client': '#d5d8dc',
  'http/1.1+tls per-client': '#99a3a4',
  'h2 per-client': '#566573',
  'h2 shared': '#212f3d',
};
const colorOf = (wire: Protocol, sharing: Sharing) => COLORS[`${wire} ${sharing}`] ?? '#999';

/** The table's headings and its rows as text, one row per run (for summary.md, the page and the CLI). */
export function protocolTable(result: BenchResult): { headings: string[]; rows: string[][] } | null {
  const runs = result.protocols;
  if (!runs || runs.length === 0) return null;
  return {
    headings: [
      'technique',
      'protocol',
      'delivered / expected',
      'lost',
      'connections',
      'wire B / msg',
      'TLS B / msg',
      'handshake B',
      'poll headers: first',
      'following',
      'delay p50 ms',
      'p99 ms',
      'server CPU',
      'server RSS / client',
    ],
    rows: runs.map((r) => [
      r.technique,
      protocolLabel(r),
      `${r.messagesDelivered} / ${r.messagesExpected}`,
      String(r.lost),
      String(r.connections),
      fixed(r.wireBytesPerMessage),
      fixed(r.tlsOverheadPerMessage),
      r.handshakeBytes > 0 ? String(r.handshakeBytes) : '–',
      r.headerBytesPerPoll ? String(r.headerBytesPerPoll.first) : '–',
      r.headerBytesPerPoll ? String(r.headerBytesPerPoll.following) : '–',
      ms(r.latencyMs?.p50),
      ms(r.latencyMs?.p99),
      r.server ? `${Math.round(r.server.cpuMs)} ms (${fixed(r.server.cpuPercent)}%)` : '–',
      r.server ? `${fixed(r.server.rssPerClientBytes / 1000)} kB` : '–',
    ]),
  };
}

/** The protocol section of summary.md (and of the CLI's output), or null for a run without one. */
export function renderProtocols(result: BenchResult): string | null {
  const table = protocolTable(result);
  if (!table) return null;
  const lines = ['## HTTP/1.1, TLS and HTTP/2', '', ...PROTOCOL_NOTES.map((note) => `- ${note}`), ''];
  lines.push(`| ${table.headings.join(' | ')} |`);
  lines.push(`| ${table.headings.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const row of table.rows) lines.push(`| ${row.join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}

/** What a reader must know to read the table; printed with it. */
export const PROTOCOL_NOTES = [
  'Measured by the bench’s own clients, not autocannon (it speaks HTTP/1.1 only): node:http over HTTP/1.1, node:http2 over HTTP/2, ws for WebSocket, each on a TCP (and TLS) socket the bench made, so every byte is counted on the client side.',
  'Wire bytes are TCP payload both ways per delivered message while publishing; TLS B / msg is what TLS added (record headers and tags): wire minus the plaintext under it.',
  'Poll headers: plaintext bytes of one request and its answer other than the answer body (HTTP/1.1 headers; HTTP/2 HEADERS and frame headers), the first request on a connection and the median of the following ones: HPACK’s dynamic table makes the following ones smaller on HTTP/2.',
  'WebSocket has no HTTP/2 run: the server speaks no RFC 8441 (WebSocket over an HTTP/2 stream), so a page served over HTTP/2 opens its WebSocket as an HTTP/1.1 Upgrade on a connection of its own (wss://).',
  'Handshake B: the TLS handshake, bytes both ways on the TCP socket until it was done (median per connection).',
];

/** The charts of the protocol comparison, or none. */
export function protocolCharts(result: BenchResult, subtitle: string[]): NamedChart[] {
  const runs = result.protocols ?? [];
  if (runs.length === 0) return [];
  const charts: NamedChart[] = [];
  const polls = runs.filter((r) => r.headerBytesPerPoll);
  if (polls.length > 0) {
    const labels = [...new Set(polls.map((r) => r.technique))];
    const keys = series(polls);
    charts.push({
      name: 'protocols-poll-headers',
      caption:
        'Header bytes per poll (request + answer, plaintext, without the answer body), the first request on a connection and the following ones, by protocol: HPACK shrinks the following ones on HTTP/2.',
      config: bar(
        'Header bytes per poll: first request vs the following ones',
        subtitle,
        'plaintext header bytes per request + answer',
        labels,
        keys.flatMap((key) =>
          (['first', 'following'] as const).map((which) => ({
            label: `${protocolLabel(key)}: ${which}`,
            data: labels.map((t) => find(polls, t, key)?.headerBytesPerPoll?.[which] ?? null),
            // The following ones a paler shade of the same protocol, outlined in it.
            backgroundColor: which === 'first' ? colorOf(key.wire, key.sharing) : `${colorOf(key.wire, key.sharing)}66`,
            borderColor: colorOf(key.wire, key.sharing),
            borderWidth: 2,
          })),
        ),
      ),
    });
  }
  const withMessages = runs.filter((r) => r.messagesDelivered > 0);
  if (withMessages.length > 0) {
    const labels = [...new Set(withMessages.map((r) => r.technique))];
    const keys = series(withMessages);
    charts.push({
      name: 'protocols-bytes-per-message',
      caption:
        'Bytes on the wire per delivered message (TCP payload, both ways, while publishing) by protocol; on HTTP/2, every client on its own session or all of them as streams of one.',
      config: bar(
        'Wire bytes per delivered message by protocol',
        subtitle,
        'bytes per delivered message',
        labels,
        keys.map((key) => ({
          label: protocolLabel(key),
          data: labels.map((t) => find(withMessages, t, key)?.wireBytesPerMessage ?? null),
          backgroundColor: colorOf(key.wire, key.sharing),
        })),
      ),
    });
    charts.push({
      name: 'protocols-connections',
      caption: 'TCP connections the subscribers held, by protocol: HTTP/2 carries every client’s stream on one.',
      config: bar(
        'Connections held by the subscribers',
        subtitle,
        'TCP connections',
        labels,
        keys.map((key) => ({
          label: protocolLabel(key),
          data: labels.map((t) => find(withMessages, t, key)?.connections ?? null),
          backgroundColor: colorOf(key.wire, key.sharing),
        })),
      ),
    });
  }
  const withServer = runs.filter((r) => r.server);
  if (withServer.length > 0) {
    const labels = [...new Set(withServer.map((r) => r.technique))];
    const keys = series(withServer);
    charts.push({
      name: 'protocols-server-cpu',
      caption:
        'Server CPU (user + system, from /proc) while publishing and delivering, as a share of one core, by protocol: what TLS and HTTP/2 cost the server for the same workload.',
      config: bar(
        'Server CPU by protocol',
        subtitle,
        'server CPU, % of one core',
        labels,
        keys.map((key) => ({
          label: protocolLabel(key),
          data: labels.map((t) => find(withServer, t, key)?.server?.cpuPercent ?? null),
          backgroundColor: colorOf(key.wire, key.sharing),
        })),
      ),
    });
  }
  return charts;
}

type Key = Pick<ProtocolResult, 'protocol' | 'wire' | 'sharing'>;

/** The protocol series present, in run order; a WebSocket's h2 page run joins the TLS series it went over. */
function series(rows: readonly ProtocolResult[]): Key[] {
  const keys: Key[] = [];
  for (const row of rows) {
    if (row.protocol === 'h2' && row.wire !== 'h2') continue;
    if (!keys.some((k) => k.wire === row.wire && k.sharing === row.sharing))
      keys.push({ protocol: row.protocol, wire: row.wire, sharing: row.sharing });
  }
  return keys;
}

function find(rows: readonly ProtocolResult[], technique: string, key: Key): ProtocolResult | undefined {
  return rows.find(
    (r) => r.technique === technique && r.wire === key.wire && r.sharing === key.sharing && r.protocol === r.wire,
  );
}

function bar(
  title: string,
  subtitle: string[],
  yTitle: string,
  labels: string[],
  datasets: ChartConfiguration<'bar'>['data']['datasets'],
): ChartConfiguration {
  return {
    type: 'bar',
    data: { labels, datasets },
    options: baseOptions(title, subtitle, yTitle, false),
  } as ChartConfiguration;
}

/**
 * TLS for `npm start -- --tls`: the certificate the server presents, and what to tell a
 * person so their browser accepts it.
 *
 * Browsers speak HTTP/2 only over TLS, so the lab needs a certificate even on localhost.
 * Given TLS_CERT and TLS_KEY, it uses those files; otherwise it makes a development
 * certificate at first start (an EC P-256 key, valid for localhost, 127.0.0.1, ::1 and
 * HOST, for 30 days) with `selfsigned` (pure JavaScript: no openssl binary needed on a
 * fresh machine, nothing downloaded) and keeps it in `.certs/`, so the browser's
 * exception holds across restarts. An expired or unreadable one is made again.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';

/** What the HTTPS server presents. */
export interface Certificate {
  /** PEM of the certificate. */
  cert: string;
  /** PEM of its private key. */
  key: string;
  /** Whether the lab made it itself (a development certificate no browser trusts). */
  development: boolean;
  /** The names it is valid for (its subjectAltName). */
  names: string[];
  /** When it expires. */
  validTo: Date;
  /**
   * base64 of the SHA-256 of its public key (SubjectPublicKeyInfo): what Chromium's
   * `--ignore-certificate-errors-spki-list` takes to accept this one certificate only.
   */
  spkiSha256: string;
}

/** Where the development certificate is kept: `.certs/` in the working directory (git ignores it). */
export const DEVELOPMENT_CERTIFICATE_DIR = '.certs';

/** Days a development certificate is valid; a shorter life than a year keeps an old exception from lingering. */
const DEVELOPMENT_CERTIFICATE_DAYS = 30;
/** A development certificate this close to expiring is made again at start, ms. */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

/**
 * The certificate to serve: the files named (both or neither), or the development
 * certificate in `dir`, made if missing, expired, or not valid for `host`.
 */
export async function certificateFor(options: {
  host: string;
  certFile?: string;
  keyFile?: string;
  dir?: string;
}): Promise<Certificate> {
  if (options.certFile && options.keyFile) {
    const [cert, key] = await Promise.all([readFile(options.certFile, 'utf8'), readFile(options.keyFile, 'utf8')]);
    return describe(cert, key, false);
  }
  const dir = options.dir ?? DEVELOPMENT_CERTIFICATE_DIR;
  const names = developmentNames(options.host);
  const kept = await readKept(dir);
  if (kept && stillGood(kept, names)) return kept;
  const made = await makeDevelopmentCertificate(names);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'key.pem'), made.key, { mode: 0o600 });
  await writeFile(join(dir, 'cert.pem'), made.cert);
  return made;
}

/** The names a development certificate covers: the loopback names, and HOST if it is one. */
export function developmentNames(host: string): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  const bare = host.replace(/^\[|\]$/g, '');
  // 0.0.0.0 and :: are where to listen, not names a browser types.
  if (bare && bare !== '0.0.0.0' && bare !== '::' && !names.includes(canonicalName(bare)))
    names.push(canonicalName(bare));
  return names;
}

/** What to print at start: how to reach the server, and how to make a browser accept a development certificate. */
export function describeCertificate(certificate: Certificate, url: string): string[] {
  const lines = [
    `TLS: HTTP/2 and HTTP/1.1 on the same port (ALPN); WebSocket over wss:// (an HTTP/1.1 upgrade), certificate for ${certificate.names.join(', ')}, valid until ${certificate.validTo.toISOString().slice(0, 10)}`,
  ];
  if (certificate.development)
    lines.push(
      `TLS: a development certificate made by the lab (${DEVELOPMENT_CERTIFICATE_DIR}/cert.pem): no browser trusts it. Either accept the warning once, trust ${DEVELOPMENT_CERTIFICATE_DIR}/cert.pem in your system or browser, or start Chromium accepting this one key only:`,
      `  chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=${certificate.spkiSha256} ${url}`,
    );
  return lines;
}

async function readKept(dir: string): Promise<Certificate | null> {
  try {
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'cert.pem'), 'utf8'),
      readFile(join(dir, 'key.pem'), 'utf8'),
    ]);
    return describe(cert, key, true);
  } catch {
    // Missing or unreadable: made again.
    return null;
  }
}

function stillGood(certificate: Certificate, names: string[]): boolean {
  return (
    certificate.validTo.getTime() - Date.now() > RENEW_BEFORE_MS &&
    names.every((name) => certificate.names.includes(name))
  );
}

async function makeDevelopmentCertificate(names: string[]): Promise<Certificate> {
  // Loaded only here: selfsigned and the certificate code under it hold ~3 MB of heap,
  // which a server without TLS (and a server with its certificate already made) would
  // otherwise carry, and every major GC would mark, for its whole life.
  const { generate } = await import('selfsigned');
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'realtime-lab development' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + DEVELOPMENT_CERTIFICATE_DAYS * 24 * 60 * 60 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        // 2: a DNS name; 7: an IP address (RFC 5280's GeneralName tags).
        altNames: names.map((name) => (isIP(name) ? { type: 7, ip: name } : { type: 2, value: name })),
      },
    ],
  });
  return describe(pems.cert, pems.private, true);
}

/** IPv6 addresses in one spelling: X509 writes ::1 as 0:0:0:0:0:0:0:1. */
function canonicalName(name: string): string {
  return isIP(name) === 6 ? new URL(`http://[${name}]/`).hostname.slice(1, -1) : name;
}

function describe(cert: string, key: string, development: boolean): Certificate {
  const x509 = new X509Certificate(cert);
  const names = (x509.subjectAltName ?? '')
    .split(/,\s*/)
    .map((entry) => canonicalName(entry.replace(/^(DNS|IP Address):/, '')))
    .filter(Boolean);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return {
    cert,
    key,
    development,
    names,
    validTo: new Date(x509.validTo),
    spkiSha256: createHash('sha256').update(spki).digest('base64'),
  };
}

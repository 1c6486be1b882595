/** Secrets kept out of what the server shows: logs, `/api/health`, the bench's reports. */

/** The URL without its password, for logs and /api/health. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    // Not a URL ('memory'): nothing secret in it, unless it looks like credentials.
    return url.includes('@') ? 'redis' : url;
  }
}

// The server's defaults that its clients and the bench's models depend on: one source, so
// a model predicts what the server does rather than what someone once copied from it. The
// server's settings (server/config.ts) take their defaults from here.

/** How long a long poll is held when nothing comes, ms (LONG_POLL_TIMEOUT_MS). */
export const LONG_POLL_TIMEOUT_MS = 25_000;
/** A heartbeat is written on an idle stream this often, ms (HEARTBEAT_MS). */
export const HEARTBEAT_MS = 15_000;
/**
 * The most a stream's `padding=BYTES` may ask for: a comment of that many bytes right after
 * the headers, for intermediaries that hold the first KiB of a response (old IE: 2 KiB;
 * content-sniffing proxies: 4 KiB and more). See docs/intermediaries.md.
 */
export const MAX_STREAM_PADDING_BYTES = 8192;
/** A forever iframe's document ends after this many bytes and is reopened (IFRAME_MAX_BYTES). */
export const IFRAME_MAX_BYTES = 256 * 1024;
/** A polling answer carries at most this many bytes of message JSON, and says `more` (POLL_PAGE_BYTES). */
export const POLL_PAGE_BYTES = 64 * 1024;
/**
 * A chatter is online while one of its requests or connections is open, and this long
 * after the last one ended, ms: longer than the slowest poll the side-by-side page's knob
 * allows, so a poller between two polls, or a long poll between two requests, stays on.
 */
export const PRESENCE_GRACE_MS = 6_000;

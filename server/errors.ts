/**
 * Every error the API answers with, as a table of codes. Fastify turns a thrown one into
 * `{"statusCode", "code", "error", "message"}` with its status, so handlers and hooks
 * simply throw. `%s` is filled from the constructor's arguments. An error that tells the
 * client when to come back carries it (`retryAfterS`): the one error handler
 * (plugins/error-handler.ts) turns it into Retry-After, so no handler sets that header.
 */
import createError from '@fastify/error';

/** An error whose answer says when to try again: `Retry-After: <retryAfterS>`. */
export interface RetryLater {
  /** Whole seconds, at least 1. */
  readonly retryAfterS: number;
}

/** What a client refused for its technique's connection cap is told to wait, s. */
export const CONNECTIONS_RETRY_AFTER_S = 5;
/** What a connection refused for its address's cap is told to wait, s. */
export const ADDRESS_RETRY_AFTER_S = 5;
/** What a publish the feed could not take is told to wait, s: Redis reconnects within about a second. */
export const FEED_RETRY_AFTER_S = 1;

/**
 * `createError` whose errors carry `retryAfterS`, computed from the constructor's
 * arguments (the same ones that fill the message), so the wait and the message that may
 * state it cannot disagree.
 */
function createRetryLaterError<C extends string, SC extends number, Args extends unknown[]>(
  code: C,
  message: string,
  statusCode: SC,
  retryAfterS: (...args: Args) => number,
) {
  const Base = createError<C, SC, Args>(code, message, statusCode);
  return class extends Base implements RetryLater {
    readonly retryAfterS: number;

    constructor(...args: Args) {
      super(...args);
      this.retryAfterS = retryAfterS(...args);
    }
  };
}

/** Whether `error` says when to try again. */
export function isRetryLater(error: unknown): error is RetryLater {
  return typeof (error as Partial<RetryLater> | null)?.retryAfterS === 'number';
}

export const BadCursor = createError('RTL_BAD_CURSOR', '%s must be a non-negative integer (a message id), got %s', 400);
export const BadEpoch = createError(
  'RTL_BAD_EPOCH',
  '%s must be 1 to 16 characters of 0-9 and a-z (the epoch the server sent with the cursor), got %s',
  400,
);
export const BadTimeout = createError(
  'RTL_BAD_TIMEOUT',
  'timeout must be a whole number of milliseconds from 0 to %s, got %s',
  400,
);
export const BadPadding = createError(
  'RTL_BAD_PADDING',
  'padding must be a whole number of bytes from 0 to %s, got %s',
  400,
);
export const BadPublish = createError('RTL_BAD_PUBLISH', '%s', 400);
export const BadEncoding = createError(
  'RTL_BAD_ENCODING',
  'the body is not valid UTF-8: send the JSON encoded as UTF-8',
  400,
);
/** A WebSocket handshake from a foreign browser Origin; ForbiddenCorsOrigin is the CORS preflight's. */
export const ForbiddenOrigin = createError(
  'RTL_FORBIDDEN_ORIGIN',
  "Origin %s may not open a WebSocket here; allowed: this server's own origin%s",
  403,
);
export const MisdirectedHost = createError(
  'RTL_MISDIRECTED_HOST',
  'this server does not answer to the name %s (the Host header): it answers to localhost, its own addresses, HOST and the names in ALLOWED_HOSTS; reached through a DNS name or a proxy, add that name to ALLOWED_HOSTS',
  421,
);
export const BadHost = createError('RTL_BAD_HOST', '%s', 400);
export const UpgradeRequired = createError(
  'RTL_UPGRADE_REQUIRED',
  'this endpoint speaks WebSocket: send an Upgrade: websocket request (e.g. new WebSocket("ws://host%s"))',
  426,
);
/** A WebSocket handshake that offers subprotocols, none of them spoken here: refused, never a silent pick. */
export const UnsupportedSubprotocol = createError(
  'RTL_UNSUPPORTED_SUBPROTOCOL',
  'this endpoint speaks none of the subprotocols offered (%s): it speaks %s (the first of them offered is chosen), and JSON when none is offered',
  400,
);
export const BadClientId = createError(
  'RTL_BAD_CLIENT_ID',
  'client must be 1 to 64 letters, digits, "-" or "_", got %s',
  400,
);
export const UnknownTechnique = createError('RTL_UNKNOWN_TECHNIQUE', 'no technique %s; the techniques are %s', 404);
export const TooManyConnections = createRetryLaterError(
  'RTL_TOO_MANY_CONNECTIONS',
  '%s already holds %s connections, its limit (MAX_CONNECTIONS_PER_TECHNIQUE): try again later',
  503,
  (_technique: string, _max: number) => CONNECTIONS_RETRY_AFTER_S,
);
export const TooManyAddressConnections = createRetryLaterError(
  'RTL_TOO_MANY_ADDRESS_CONNECTIONS',
  'address %s already holds %s connections, its limit (MAX_CONNECTIONS_PER_ADDRESS): close one, or try again later',
  503,
  (_address: string, _max: number) => ADDRESS_RETRY_AFTER_S,
);
/** Retry-After is the wait in whole seconds, rounded up: a client that waits that long has a token. */
export const PublishRateLimited = createRetryLaterError(
  'RTL_RATE_LIMITED',
  '%s publishes faster than its limit (%s): wait %s ms',
  429,
  (_who: string, _limit: string, waitMs: number) => Math.max(1, Math.ceil(waitMs / 1000)),
);
/** A CORS preflight from an origin ALLOWED_ORIGINS does not name; ForbiddenOrigin is the WebSocket handshake's. */
export const ForbiddenCorsOrigin = createError(
  'RTL_FORBIDDEN_CORS_ORIGIN',
  'Origin %s may not call this API across origins; allowed: %s',
  403,
);
/** The message was not stored, and nothing will store it later: publishing it again is safe. */
export const FeedUnavailable = createRetryLaterError(
  'RTL_FEED_UNAVAILABLE',
  'the feed cannot take messages now (%s); the message was not stored, try again shortly',
  503,
  (_reason: string) => FEED_RETRY_AFTER_S,
);
/**
 * Redis did not answer in time: the message was stored only if Redis ran it before its
 * deadline, and then it is already in the feed; nothing will store it after this answer.
 */
export const PublishUnconfirmed = createRetryLaterError(
  'RTL_PUBLISH_UNCONFIRMED',
  'the feed did not confirm the message within %s ms (%s): it is stored only if it is already in the feed, and nothing will store it later; look for it there before publishing it again',
  503,
  (_deadlineMs: number, _reason: string) => FEED_RETRY_AFTER_S,
);
/** A technique the lab's block switches (`PUT /api/blocks`) refuse for this client, as a hostile network would. */
export const TechniqueBlocked = createError(
  'RTL_TECHNIQUE_BLOCKED',
  '%s is blocked for client %s by the lab (PUT /api/blocks): the way a network that refuses it would answer',
  403,
);
/** A transcript asked for while as many are being recorded as the server allows (server/transcript-slots.ts). */
export const TooManyTranscripts = createRetryLaterError(
  'RTL_TOO_MANY_TRANSCRIPTS',
  'transcripts are being recorded already (at most %s at once per address, %s in all): try again in a second',
  503,
  (_perAddress: number, _total: number) => 1,
);
export const BadBlocks = createError('RTL_BAD_BLOCKS', '%s', 400);
/** A delay report (`POST /api/classroom/delays`) that is not `{"delays": {technique: ms}}`, or of no client here. */
export const BadClassroomReport = createError('RTL_BAD_CLASSROOM_REPORT', '%s', 400);
/** A client reporting its delays more often than REPORT_EVERY_MS (server/classroom.ts). */
export const ClassroomReportTooSoon = createRetryLaterError(
  'RTL_CLASSROOM_REPORT_TOO_SOON',
  'delays are reported at most once a second: wait %s ms',
  429,
  (waitMs: number) => Math.max(1, Math.ceil(waitMs / 1000)),
);

/**
 * Every error the API answers with, as a table of codes. Fastify turns a thrown one into
 * `{"statusCode", "code", "error", "message"}` with its status, so handlers and hooks
 * simply throw. `%s` is filled from the constructor's arguments.
 */
import createError from '@fastify/error';

export const BadCursor = createError(
  'RTL_BAD_CURSOR',
  '%s must be a non-negative integer (a message id), got %s',
  400,
);
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
export const BadPublish = createError('RTL_BAD_PUBLISH', '%s', 400);
export const BadEncoding = createError(
  'RTL_BAD_ENCODING',
  'the body is not valid UTF-8: send the JSON encoded as UTF-8',
  400,
);
export const ForbiddenOrigin = createError(
  'RTL_FORBIDDEN_ORIGIN',
  'Origin %s may not open a WebSocket here; allowed: this server\'s own origin%s',
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
  'this endpoint speaks WebSocket: send an Upgrade: websocket request (e.g. new WebSocket("ws://host/api/websocket"))',
  426,
);
export const BadClientId = createError(
  'RTL_BAD_CLIENT_ID',
  'client must be 1 to 64 letters, digits, "-" or "_", got %s',
  400,
);
export const UnknownTechnique = createError('RTL_UNKNOWN_TECHNIQUE', 'no technique %s; the techniques are %s', 404);
export const TooManyConnections = createError(
  'RTL_TOO_MANY_CONNECTIONS',
  '%s already holds %s connections, its limit (MAX_CONNECTIONS_PER_TECHNIQUE): try again later',
  503,
);
export const TooManyAddressConnections = createError(
  'RTL_TOO_MANY_ADDRESS_CONNECTIONS',
  'address %s already holds %s connections, its limit (MAX_CONNECTIONS_PER_ADDRESS): close one, or try again later',
  503,
);
export const PublishRateLimited = createError(
  'RTL_RATE_LIMITED',
  '%s publishes faster than its limit (%s): wait %s ms',
  429,
);
export const ForbiddenCorsOrigin = createError(
  'RTL_FORBIDDEN_ORIGIN',
  'Origin %s may not call this API across origins; allowed: %s',
  403,
);
/** The message was not stored, and nothing will store it later: publishing it again is safe. */
export const FeedUnavailable = createError(
  'RTL_FEED_UNAVAILABLE',
  'the feed cannot take messages now (%s); the message was not stored, try again shortly',
  503,
);
/**
 * Redis did not answer in time: the message was stored only if Redis ran it before its
 * deadline, and then it is already in the feed; nothing will store it after this answer.
 */
export const PublishUnconfirmed = createError(
  'RTL_PUBLISH_UNCONFIRMED',
  'the feed did not confirm the message within %s ms (%s): it is stored only if it is already in the feed, and nothing will store it later; look for it there before publishing it again',
  503,
);

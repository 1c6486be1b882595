// The figures the server reports about itself, as its clients read them: the wire
// counters of `/api/stats` (per technique, and per client id with `?client=`) and the
// health document of `/api/health`. Declared once here: the server (server/wire.ts) counts
// into these shapes, and the bench and the pages read them.

/**
 * Bytes of one direction, split between the HTTP header block and the body.
 * @typedef {object} ByteSplit
 * @property {number} headers
 * @property {number} body
 */

/**
 * One technique's counters, as `GET /api/stats` shows them.
 * @typedef {object} WireCounters
 * @property {number} openConnections    TCP connections still open whose latest request was for this technique
 * @property {number} activeRequests     requests in progress: held long polls, open streams and WebSockets
 * @property {number} httpRequests       every HTTP request, WebSocket upgrades included
 * @property {number} messagesDelivered  messages handed to clients (a message sent to 3 clients counts 3)
 * @property {number} payloadBytes       bytes of the messages among `bytesOut.body` (their JSON; MessagePack in realtime-lab.v1.msgpack): the payload; the rest is overhead
 * @property {ByteSplit} bytesIn         bytes received from clients
 * @property {ByteSplit} bytesOut        bytes sent to clients
 */

/**
 * `GET /api/stats?client=ID`: the counters of the requests that named this client id,
 * one entry per registered technique (all zero for a client not seen).
 * @typedef {object} ClientStats
 * @property {string} client
 * @property {Record<string, WireCounters>} techniques
 */

/**
 * What a client reads of `GET /api/stats` (without `client`). The server sends more
 * (misbehaving clients, the process's descriptors, more connection figures), for people.
 * @typedef {object} ServerStats
 * @property {string} epoch
 * @property {number} lastId
 * @property {Record<string, WireCounters>} techniques  per technique id, and `other` for requests of no technique
 * @property {{ bytesIn: number, bytesOut: number }} [sharedHttp2]  HTTP/2 connection bytes while streams of several techniques were open on it
 * @property {{ perAddressLimit: number }} connections    `perAddressLimit`: MAX_CONNECTIONS_PER_ADDRESS, 0 when off
 */

/**
 * `GET /api/health`: 200 when the feed works, 503 (with `reason`) when its Redis is away.
 * `epoch` and `lastId` together are a cursor for "from now on"; `now` is the server's
 * clock (epoch ms, sub-millisecond), for estimating a client's offset from it.
 * @typedef {object} Health
 * @property {'ok' | 'unhealthy'} status
 * @property {string} feed       the feed in use: `memory`, or the Redis URL without its password
 * @property {string} epoch
 * @property {number} lastId
 * @property {number} now
 * @property {string} [reason]   why unhealthy
 */

// Types only; the export makes this file a module, so the typedefs are importable.
export {};

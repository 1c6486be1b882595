// The contract between the server and every client of it: the techniques, the feed's
// vocabulary, one encoder and one parser per wire format, the defaults the clients depend
// on, and the reconnect backoff. Plain ES modules with JSDoc types (checked by tsc), so
// that the server, the bench and the tests import them and the pages load the very same
// files from /contract/, with no build step and no copy.
export * from './techniques.js';
export * from './feed.js';
export * from './backoff.js';
export * from './defaults.js';
export * from './formats/poll.js';
export * from './formats/event-stream.js';
export * from './formats/script-stream.js';
export * from './formats/websocket.js';
export * from './formats/ndjson.js';
export * from './stats.js';
export * from './models.js';
export * from './strategies.js';

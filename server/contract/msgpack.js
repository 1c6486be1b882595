// MessagePack, as the contract uses it: the encoder and decoder of @msgpack/msgpack.
// Node and tsc resolve the package by name. A browser cannot resolve a bare name without
// an import map (inline, so blocked by the pages' CSP): the server answers
// /contract/msgpack.js with a one-line re-export of /vendor/msgpack/index.mjs instead
// (server/vendor.ts), so every page loads the same library the server runs.
export { decode, encode } from '@msgpack/msgpack';

/**
 * Fastify hooks for the server's cross-cutting checks, none of which ever waits, in
 * Fastify's callback style rather than as `async` functions.
 *
 * An `async` hook costs every request a promise and a turn of the microtask queue, and a
 * dozen of them run on every request. They also reorder a fan-out: answers sent in the
 * same turn (a publish that answers 100 held long polls) each pass through an `onSend`
 * hook as a microtask, so each step of every answer runs before the next step of any
 * answer. The first answer was written only after the whole fan-out had gone through
 * every hook: 1.2 ms after the message, against 0.06 ms for SockJS, which writes each
 * answer in its loop (docs/peers.md).
 *
 * A hook made here runs its check and lets the request go on in the same call stack. A
 * check that refuses throws, as it did from an async hook: Fastify's hook runner catches
 * the throw and answers with the error (fastify/lib/hooks.js, `hookRunnerGenerator` and
 * `onSendHookRunner`).
 */
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

type Check = (request: FastifyRequest, reply: FastifyReply) => void;

/** An `onRequest` (or `onResponse`) hook that runs `check` and goes on. */
export function requestHook(check: Check) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    check(request, reply);
    done();
  };
}

/** An `onSend` hook that runs `check` and sends the payload unchanged. */
export function sendHook(check: Check) {
  return (request: FastifyRequest, reply: FastifyReply, _payload: unknown, done: (error?: Error | null) => void) => {
    check(request, reply);
    done();
  };
}

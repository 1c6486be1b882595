/** How the app logs its requests: quietly, for a terminal a teacher is looking at. */
import { type FastifyReply, type FastifyRequest, LogController } from 'fastify';

/**
 * A page polls every second: two log lines per request would drown the terminal a
 * teacher is looking at. Requests, and the 4xx a client earns with bad input, are logged
 * at debug level (LOG_LEVEL=debug shows them); a server failure is still an error.
 */
export class QuietRequestLog extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, _request: FastifyRequest, reply: FastifyReply): void {
    if (error || serverFault(reply.statusCode)) reply.log.error({ res: reply, err: error }, 'request failed');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }

  override defaultErrorLog(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
    if (serverFault(reply.statusCode)) reply.log.error({ res: reply, err: error }, error.message);
    else reply.log.debug({ res: reply, err: error }, error.message);
  }

  override routeNotFound(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'route not found');
  }
}

/**
 * Whether an answer is the server's own failure, worth an error line. A 503 is a
 * deliberate refusal (a connection cap, the feed's Redis away, which the feed reports
 * once): a load balancer's health checks must not flood the log with it.
 */
function serverFault(statusCode: number): boolean {
  return statusCode >= 500 && statusCode !== 503;
}

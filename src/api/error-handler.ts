import type { FastifyInstance } from 'fastify';
import type { Logger } from '../logging/index.js';
import { installErrorHandler } from '../server-kit/index.js';

/**
 * The station's error replies: the one handler both servers share (src/server-kit), so every
 * failure leaves as `{success:false, error:{code, message}}` with the code's status — schema
 * failures as BAD_REQUEST naming the field, bodies over the limit as 413, unknown errors as
 * INTERNAL_ERROR with a generic message (the stack goes to the log, never to the client).
 */
export function registerErrorHandling(app: FastifyInstance, logger: Logger): void {
  installErrorHandler(app, logger);
}

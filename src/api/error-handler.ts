import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errorBody, isAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

/**
 * Every failure leaves as `{success:false, error:{code, message}}` with the code's status:
 * schema failures as BAD_REQUEST naming the field, unknown errors as INTERNAL_ERROR with a
 * generic message (the stack goes to the log, never to the client).
 */
export function registerErrorHandling(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    let appError: AppError;
    if (isAppError(error)) {
      appError = error;
    } else if (error.validation) {
      const first = error.validation[0];
      const field =
        (first?.params as { missingProperty?: string } | undefined)?.missingProperty ??
        first?.instancePath.replace(/^\//, '').replaceAll('/', '.') ??
        '';
      const where = error.validationContext ?? 'body';
      appError = new AppError(
        'BAD_REQUEST',
        `${where}${field ? `.${field}` : ''}: ${first?.message ?? 'is invalid'}`,
      );
    } else if (error.statusCode === 415) {
      appError = new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send JSON (Content-Type: application/json)');
    } else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      appError = new AppError('BAD_REQUEST', error.message);
    } else {
      logger.error({ err: error, url: request.url }, 'request failed');
      appError = new AppError('INTERNAL_ERROR', 'Internal error; see logs/streamai.log');
    }
    if (appError.code !== 'INTERNAL_ERROR')
      logger.debug({ code: appError.code, url: request.url }, appError.message);
    void reply.status(appError.httpStatus).send(errorBody(appError));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
    void reply.status(404).send(errorBody(error));
  });
}

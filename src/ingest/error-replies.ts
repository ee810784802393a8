import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, errorBody, isAppError, type ErrorCode } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

/** The error code for an HTTP status that arrived without one (Fastify, multipart, tus). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'UPLOAD_OFFSET_MISMATCH';
    case 410:
      return 'UPLOAD_EXPIRED';
    case 412:
      return 'TUS_VERSION_REQUIRED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 423:
      return 'UPLOAD_LOCKED';
    case 507:
      return 'INSUFFICIENT_STORAGE';
    default:
      return status >= 400 && status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR';
  }
}

/**
 * Any thrown value as an AppError safe to show: our own errors as they are, client errors from
 * Fastify and its plugins by status (their messages describe the request, not the server),
 * everything else as INTERNAL_ERROR with a generic message.
 */
export function toPublicError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const status = (error as Partial<FastifyError> | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = error instanceof Error && error.message ? error.message : 'Bad request';
    return new AppError(codeForStatus(status), message, { cause: error });
  }
  return new AppError('INTERNAL_ERROR', 'Internal error', { cause: error });
}

/** JSON errors `{success:false, error:{code, message}}` for every failure and unknown route; never a stack. */
export function installErrorReplies(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error, request, reply) => {
    const appError = toPublicError(error);
    if (appError.code === 'INTERNAL_ERROR') logger.error({ err: error, url: request.url }, 'request failed');
    else logger.debug({ code: appError.code, url: request.url }, appError.message);
    // A refused body that was not read must not be drained (it may be gigabytes): close instead.
    if (!request.raw.complete) reply.header('connection', 'close');
    void reply.code(appError.httpStatus).send(errorBody(appError));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(error));
  });
}

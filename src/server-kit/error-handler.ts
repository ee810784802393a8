import type { Socket } from 'node:net';
import type {
  FastifyError,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifyServerOptions,
} from 'fastify';
import { AppError, errorBody, isAppError, type ErrorCode } from '../errors/index.js';
import { lingerOnClose } from './linger.js';
import type { Logger } from '../logging/index.js';

/** The error code for an HTTP status that arrived without one (Fastify, its plugins, tus, Node's parser). */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 408:
      return 'REQUEST_TIMEOUT';
    case 409:
      return 'UPLOAD_OFFSET_MISMATCH';
    case 410:
      return 'UPLOAD_EXPIRED';
    case 412:
      return 'TUS_VERSION_REQUIRED';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 414:
      return 'URI_TOO_LONG';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 423:
      return 'UPLOAD_LOCKED';
    case 431:
      return 'HEADERS_TOO_LARGE';
    case 507:
      return 'INSUFFICIENT_STORAGE';
    default:
      return status >= 400 && status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR';
  }
}

/** A schema validation failure as BAD_REQUEST naming the field ("body.sessionName: must be string"). */
function validationError(error: FastifyError): AppError {
  const first = error.validation?.[0];
  const field =
    (first?.params as { missingProperty?: string } | undefined)?.missingProperty ??
    first?.instancePath.replace(/^\//, '').replaceAll('/', '.') ??
    '';
  const where = error.validationContext ?? 'body';
  return new AppError(
    'BAD_REQUEST',
    `${where}${field ? `.${field}` : ''}: ${first?.message ?? 'is invalid'}`,
    {
      cause: error,
    },
  );
}

/** Messages for framework errors whose own text is unhelpful or names internals. */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is larger than this server accepts',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type for this route (JSON bodies: application/json)',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The JSON body is empty',
  FST_ERR_BAD_URL: 'The URL is not valid (bad percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'A path segment of the URL is too long',
};

/**
 * Any thrown value as an AppError safe to show: our own errors as they are, schema failures as
 * BAD_REQUEST naming the field, client errors from Fastify and its plugins by status (their
 * messages describe the request, not the server), everything else as INTERNAL_ERROR with a
 * generic message (the original stays as `cause`, for the log).
 */
export function toPublicError(error: unknown): AppError {
  if (isAppError(error)) return error;
  const fastifyError = error as Partial<FastifyError> | undefined;
  if (fastifyError?.validation) return validationError(error as FastifyError);
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const known = typeof fastifyError?.code === 'string' ? FRAMEWORK_MESSAGES[fastifyError.code] : undefined;
    const message = known ?? (error instanceof Error && error.message ? error.message : 'Bad request');
    return new AppError(codeForStatus(status), message, { cause: error });
  }
  return new AppError('INTERNAL_ERROR', 'Internal error; see the server log', { cause: error });
}

function sendError(
  appError: AppError,
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Logger,
): void {
  if (appError.code === 'INTERNAL_ERROR') logger.error({ err: error, url: request.url }, 'request failed');
  else logger.debug({ code: appError.code, url: request.url }, appError.message);
  // A refused body that was not read must not be drained (it may be gigabytes): close instead.
  if (!request.raw.complete) {
    void reply.header('connection', 'close');
    lingerOnClose(request.raw.socket);
  }
  void reply.code(appError.httpStatus).send(errorBody(appError));
}

/**
 * The one error reply of both servers: every failure and unknown route leaves as
 * `{success:false, error:{code, message}}` with the code's status, never a stack. Also replaces
 * Node's `clientError` answer (the parser's 400/414/431/408, written on the raw socket).
 */
export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error, request, reply) =>
    sendError(toPublicError(error), error, request, reply, logger),
  );
  app.setNotFoundHandler((request, reply) => {
    const error = new AppError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
    void reply.code(404).send(errorBody(error));
  });
  app.server.removeAllListeners('clientError');
  app.server.on('clientError', (error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) =>
    answerClientError(error, socket, logger),
  );
}

/** Fastify construction options that put the router's own errors (bad URL, 414) through `installErrorHandler`'s shape. */
export function frameworkErrorOptions(logger: Logger): Pick<FastifyServerOptions, 'frameworkErrors'> {
  return {
    frameworkErrors: (error, request, reply) =>
      sendError(toPublicError(error), error, request, reply, logger),
  };
}

/** A request line this long is taken for the cause of a header overflow. */
const LONG_REQUEST_LINE = 8 * 1024;

/** The AppError for an error of Node's HTTP parser (before any request object exists). */
export function clientErrorOf(error: NodeJS.ErrnoException & { rawPacket?: Buffer }): AppError {
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    // The parser counts the request line as header bytes, and says only "overflow": a packet
    // whose first line is a request line of 8 KiB or more (or has no end yet) is a long URL.
    const raw = error.rawPacket;
    if (raw && /^[A-Z]+ \//.test(raw.subarray(0, 16).toString('latin1'))) {
      const lineEnd = raw.indexOf('\r\n');
      if (lineEnd === -1 || lineEnd >= LONG_REQUEST_LINE)
        return new AppError('URI_TOO_LONG', 'The URL is too long');
    }
    return new AppError('HEADERS_TOO_LARGE', 'The request headers are too large');
  }
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT')
    return new AppError('REQUEST_TIMEOUT', 'The request took too long to arrive');
  return new AppError('BAD_REQUEST', 'The request is not valid HTTP');
}

function answerClientError(
  error: NodeJS.ErrnoException & { rawPacket?: Buffer },
  socket: Socket,
  logger: Logger,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const appError = clientErrorOf(error);
  logger.debug({ code: appError.code, parser: error.code }, appError.message);
  if (socket.writable) {
    const body = JSON.stringify(errorBody(appError));
    socket.write(
      `HTTP/1.1 ${appError.httpStatus} ${statusText(appError.httpStatus)}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Connection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

function statusText(status: number): string {
  return (
    {
      400: 'Bad Request',
      408: 'Request Timeout',
      414: 'URI Too Long',
      431: 'Request Header Fields Too Large',
    }[status] ?? 'Error'
  );
}

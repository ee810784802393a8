import { AppError, isAppError } from '../errors/index.js';

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { headers?: Record<string, string | undefined> };
}

/** The S3 error code (e.g. "NoSuchUpload") of an SDK error, else undefined. */
export function s3ErrorCode(error: unknown): string | undefined {
  const e = error as SdkErrorShape | null;
  return e && typeof e.name === 'string' && e.name !== 'Error' ? e.name : undefined;
}

/** The HTTP status of an SDK error, else undefined (network errors have none). */
export function s3Status(error: unknown): number | undefined {
  const status = (error as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'AuthorizationHeaderMalformed',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Maps an S3 failure to an AppError of the one code table, so the upload service's retry policy
 * decides as for the other transports: wrong keys and a missing bucket are final
 * (STORAGE_AUTH_FAILED, BUCKET_NOT_FOUND), throttling (503 SlowDown, 429) is RATE_LIMITED,
 * other 5xx SERVER_ERROR and network failures SERVER_UNREACHABLE (all retried). An abort
 * rethrows the abort's reason (a stall, a cancel). Never branches on a message.
 */
export function s3Error(error: unknown, what: string, signal?: AbortSignal): AppError {
  if (isAppError(error)) return error;
  if (signal?.aborted && isAppError(signal.reason)) return signal.reason;
  const code = s3ErrorCode(error);
  const status = s3Status(error);
  const said = (error as SdkErrorShape | null)?.message;
  const suffix = typeof said === 'string' && said !== '' && said !== code ? ` (${said})` : '';
  const netCode = (error as SdkErrorShape | null)?.code;
  const details = { s3Code: code, httpStatus: status };
  if ((code !== undefined && AUTH_CODES.has(code)) || status === 401 || status === 403) {
    return new AppError(
      'STORAGE_AUTH_FAILED',
      `${what}: the bucket refused the credentials (${code ?? `HTTP ${status}`}); check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY and that they may write to S3_BUCKET`,
      { cause: error, details },
    );
  }
  if (code === 'NoSuchBucket' || (status === 404 && what.startsWith('bucket'))) {
    return new AppError('BUCKET_NOT_FOUND', `${what}: the bucket does not exist; check S3_BUCKET${suffix}`, {
      cause: error,
      details,
    });
  }
  if (
    code === 'SlowDown' ||
    code === 'Throttling' ||
    status === 429 ||
    (status === 503 && code !== undefined)
  ) {
    return new AppError('RATE_LIMITED', `${what}: the bucket asked to slow down (${code ?? status})`, {
      cause: error,
      details,
    });
  }
  if (status !== undefined && status >= 500) {
    return new AppError('SERVER_ERROR', `${what}: the bucket answered HTTP ${status}${suffix}`, {
      cause: error,
      details,
    });
  }
  if (
    status === undefined &&
    ((typeof netCode === 'string' && NETWORK_CODES.has(netCode)) || code === 'TimeoutError')
  ) {
    return new AppError(
      'SERVER_UNREACHABLE',
      `${what}: cannot reach the bucket's endpoint (${typeof netCode === 'string' ? netCode : code}); check S3_ENDPOINT and the network`,
      { cause: error, details },
    );
  }
  if (status !== undefined && status >= 400) {
    return new AppError(
      'UPLOAD_FAILED',
      `${what}: the bucket refused the request (${code ?? status})${suffix}`,
      {
        cause: error,
        details,
      },
    );
  }
  return new AppError('SERVER_UNREACHABLE', `${what}: ${typeof said === 'string' ? said : String(error)}`, {
    cause: error,
    details,
  });
}

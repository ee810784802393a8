import { type ErrorCode, httpStatusFor, ERROR_CODES } from './error-codes.js';

/** The one error type the application throws on purpose: a stable code, a user-facing message, an optional cause. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details;
  }

  get httpStatus(): number {
    return httpStatusFor(this.code);
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * Turns anything thrown into an AppError without leaking internals: unknown errors become
 * INTERNAL_ERROR with a generic message (the original stays as `cause` for the log).
 */
export function toAppError(error: unknown, fallbackMessage = 'Internal error'): AppError {
  if (error instanceof AppError) return error;
  return new AppError('INTERNAL_ERROR', fallbackMessage, { cause: error });
}

/** The JSON error body both servers send: `{success:false, error:{code, message}}`. */
export function errorBody(error: AppError): { success: false; error: { code: ErrorCode; message: string } } {
  return { success: false, error: { code: error.code, message: error.message } };
}

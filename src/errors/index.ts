/** Typed errors with stable codes, shared by every part. */
export { AppError, isAppError, isErrorCode, toAppError, errorBody } from './app-error.js';
export { ERROR_CODES, type ErrorCode, httpStatusFor, exitCodeFor } from './error-codes.js';

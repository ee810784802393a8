import { AppError, type ErrorCode } from '../errors/index.js';
import type { UploadSettings } from './upload-types.js';

/**
 * The retry policy as data: which error codes are temporary (retried with exponential backoff
 * and jitter) — connection errors, stalls, 5xx, 429, 507, a file still being written. Every
 * other code (401, 400, 409, 413, 415, 422, validation failures) fails the task at once.
 */
export const RETRYABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SERVER_UNREACHABLE',
  'SERVER_ERROR',
  'UPLOAD_STALLED',
  'RATE_LIMITED',
  'INSUFFICIENT_STORAGE',
  'FILE_STILL_GROWING',
]);

/** True when the error is worth another attempt. */
export function isRetryable(error: AppError): boolean {
  return RETRYABLE_CODES.has(error.code);
}

/** The delay the server asked for (Retry-After), carried in the error's details. */
export function retryAfterOf(error: AppError): number | undefined {
  const value = error.details?.['retryAfterMs'];
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

type RetryTimings = Pick<
  UploadSettings,
  'retryBaseDelayMs' | 'retryMaxDelayMs' | 'insufficientStorageDelayMs' | 'retryAfterMaxMs'
>;

/**
 * How long to wait before attempt `attempt + 1` (`attempt` counts the attempts made so far):
 * base·2^(attempt−1) capped at the maximum, half fixed and half random ("equal jitter", so
 * many stations do not retry in step yet no retry comes at once); at least what Retry-After
 * asked for, and at least the 507 delay after Insufficient Storage.
 */
export function retryDelayMs(
  error: AppError,
  attempt: number,
  timings: RetryTimings,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    timings.retryMaxDelayMs,
    timings.retryBaseDelayMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)),
  );
  let delay = exponential / 2 + random() * (exponential / 2);
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) delay = Math.max(delay, Math.min(retryAfter, timings.retryAfterMaxMs));
  if (error.code === 'INSUFFICIENT_STORAGE') delay = Math.max(delay, timings.insufficientStorageDelayMs);
  return Math.round(delay);
}

/** Parses Retry-After (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

import type { TSchema } from '@sinclair/typebox';

/** Every failure answers the shared ErrorResponse (registered by the app from the contract). */
export const errorResponse = { $ref: 'ErrorResponse#' } as const;

/** A route's response schemas: its success body under `status`, the error shape otherwise. */
export function answers(ok: TSchema, status = 200): Record<string, unknown> {
  return { [status]: ok, '4xx': errorResponse, '5xx': errorResponse };
}

/** For routes whose success body is a file or a stream: only the error shape is JSON. */
export const errorAnswers = { '4xx': errorResponse, '5xx': errorResponse } as const;

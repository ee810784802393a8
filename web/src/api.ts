/** The page's one way to call the station API: JSON in and out, errors as ApiError. */
import type { ErrorResponse } from './api-types.js';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;

/** What to do when the station answers 401 (the sign-in screen). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  const body = (await response.json().catch(() => ({}))) as T | ErrorResponse;
  if (!response.ok) {
    const error = (body as ErrorResponse).error ?? {
      code: 'HTTP_' + response.status,
      message: response.statusText,
    };
    if (response.status === 401) onUnauthorized();
    throw new ApiError(error.code, error.message, response.status);
  }
  return body as T;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

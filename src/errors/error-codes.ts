/**
 * The one table of error codes: each stable code maps to its HTTP status and CLI exit code.
 * Add a code here before throwing it; nothing else may branch on an error message.
 */
export const ERROR_CODES = {
  // Input and configuration
  CONFIG_INVALID: { http: 500, exit: 78 },
  BAD_REQUEST: { http: 400, exit: 64 },
  INVALID_NAME: { http: 400, exit: 64 },
  INVALID_TASK_ID: { http: 400, exit: 64 },
  NOT_FOUND: { http: 404, exit: 66 },
  // HTTP framework and parser refusals (server-kit)
  URI_TOO_LONG: { http: 414, exit: 64 },
  HEADERS_TOO_LARGE: { http: 431, exit: 64 },
  REQUEST_TIMEOUT: { http: 408, exit: 75 },
  TASK_NOT_FOUND: { http: 404, exit: 66 },
  SESSION_NOT_FOUND: { http: 404, exit: 66 },
  RECORDING_NOT_FOUND: { http: 404, exit: 66 },
  OUTPUT_NOT_FOUND: { http: 404, exit: 66 },
  // Ingest server: objects in its bucket (POST /process-object)
  OBJECT_NOT_FOUND: { http: 404, exit: 66 },
  OBJECT_KEY_OUTSIDE_PREFIX: { http: 400, exit: 64 },
  // Auth
  UNAUTHORIZED: { http: 401, exit: 77 },
  FORBIDDEN: { http: 403, exit: 77 },
  CROSS_SITE_REQUEST: { http: 403, exit: 77 },
  // Upload contract
  TASK_CONFLICT: { http: 409, exit: 65 },
  PAYLOAD_TOO_LARGE: { http: 413, exit: 65 },
  UNSUPPORTED_MEDIA_TYPE: { http: 415, exit: 65 },
  CHECKSUM_MISMATCH: { http: 422, exit: 65 },
  INSUFFICIENT_STORAGE: { http: 507, exit: 75 },
  UPLOAD_INCOMPLETE: { http: 400, exit: 65 },
  // Ingest server: tus protocol answers
  UPLOAD_OFFSET_MISMATCH: { http: 409, exit: 65 },
  UPLOAD_EXPIRED: { http: 410, exit: 65 },
  TUS_VERSION_REQUIRED: { http: 412, exit: 64 },
  UPLOAD_LOCKED: { http: 423, exit: 75 },
  CHUNK_CHECKSUM_MISMATCH: { http: 460, exit: 65 },
  // Files and media
  FILE_NOT_FOUND: { http: 404, exit: 66 },
  NOT_A_FILE: { http: 400, exit: 66 },
  EMPTY_FILE: { http: 400, exit: 65 },
  FILE_STILL_GROWING: { http: 409, exit: 75 },
  FILE_CHANGED: { http: 409, exit: 65 },
  NOT_A_MEDIA_FILE: { http: 415, exit: 65 },
  CORRUPT_MEDIA: { http: 422, exit: 65 },
  FFMPEG_FAILED: { http: 500, exit: 70 },
  STEP_TIMEOUT: { http: 500, exit: 70 },
  TRANSCRIPTION_FAILED: { http: 500, exit: 70 },
  PROCESSING_CANCELLED: { http: 409, exit: 75 },
  PROCESSING_UNAVAILABLE: { http: 503, exit: 69 },
  // Recording
  ALREADY_RECORDING: { http: 409, exit: 75 },
  NOT_RECORDING: { http: 409, exit: 75 },
  RECORDER_UNAVAILABLE: { http: 503, exit: 69 },
  STATION_UNREACHABLE: { http: 503, exit: 69 },
  OBS_AUTH_FAILED: { http: 502, exit: 77 },
  OBS_UNREACHABLE: { http: 503, exit: 69 },
  // Upload client
  SERVER_UNREACHABLE: { http: 502, exit: 69 },
  SERVER_ERROR: { http: 502, exit: 69 },
  UPLOAD_STALLED: { http: 504, exit: 75 },
  RATE_LIMITED: { http: 429, exit: 75 },
  TLS_FAILED: { http: 502, exit: 69 },
  UPLOAD_FAILED: { http: 502, exit: 70 },
  UPLOAD_CANCELLED: { http: 409, exit: 75 },
  INVALID_STATE: { http: 409, exit: 65 },
  // Object storage (an S3 bucket): permanent, never retried
  STORAGE_AUTH_FAILED: { http: 502, exit: 77 },
  BUCKET_NOT_FOUND: { http: 502, exit: 66 },
  // Anything else
  INTERNAL_ERROR: { http: 500, exit: 70 },
} as const satisfies Record<string, { http: number; exit: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function httpStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code].http;
}

export function exitCodeFor(code: ErrorCode): number {
  return ERROR_CODES[code].exit;
}

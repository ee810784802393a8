/**
 * The station API's wire contract: every body the station sends, defined once as TypeBox
 * schemas (JSON Schema with static types). The routes use them as Fastify response schemas, so
 * /api/openapi.json documents every answer and fast-json-stringify serializes exactly these
 * fields; `views.ts` derives its types from them; the page imports those types (type-only, so
 * no runtime code reaches the browser); the CLI checks the station's answers against them.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ErrorInfo = Type.Object({ code: Type.String(), message: Type.String() });
/** Any JSON value the processing server sent (its /status or /health), passed on as it came. */
const ServerJson = Type.Unknown({ description: 'the processing server’s own JSON answer, as it sent it' });

export const ErrorResponseSchema = Type.Object(
  { success: Type.Literal(false), error: ErrorInfo },
  { $id: 'ErrorResponse', description: 'Every failure: a stable code (README’s error table) and a message' },
);

export const ProcessingViewSchema = Type.Object({
  state: Type.String(),
  progress: Type.Number(),
  report: Nullable(Type.Record(Type.String(), Type.Unknown())),
  error: Nullable(ErrorInfo),
  outputs: Type.Array(Type.Object({ name: Type.String(), size: Type.Number() })),
});

/** UPLOAD_TARGET=s3: where the task's object is in the bucket, how far, and whether processing started. */
export const S3TaskViewSchema = Type.Object({
  bucket: Type.String(),
  key: Type.String(),
  /** The S3 endpoint; null: AWS's default for the region. */
  endpoint: Nullable(Type.String()),
  /** The multipart upload in progress, while there is one. */
  upload_id: Nullable(Type.String()),
  /** Parts the bucket confirmed, of part_count (null before the multipart upload is created). */
  parts_in_bucket: Type.Number(),
  part_count: Nullable(Type.Number()),
  /** Once completed: the object's ETag, its manifest, and how it was verified. */
  etag: Nullable(Type.String()),
  manifest_key: Nullable(Type.String()),
  verified_by: Nullable(Type.Union([Type.Literal('etag'), Type.Literal('read-back')])),
  /** POST /process-object on the processing server after the upload; null when not asked for. */
  processing_start: Nullable(
    Type.Object({
      state: Type.Union([Type.Literal('pending'), Type.Literal('started'), Type.Literal('failed')]),
      attempts: Type.Number(),
      last_error: Nullable(ErrorInfo),
      next_attempt_at: Nullable(Type.String()),
    }),
  ),
});

/** One upload task (snake_case, as the original /api/vultr routes did). */
export const UploadViewSchema = Type.Object({
  task_id: Type.String(),
  file_name: Type.String(),
  session_name: Nullable(Type.String()),
  recording_id: Nullable(Type.String()),
  state: Type.String(),
  bytes_sent: Type.Number(),
  size: Type.Number(),
  rate_bytes_per_second: Type.Number(),
  eta_seconds: Nullable(Type.Number()),
  attempts: Type.Number(),
  protocol: Nullable(Type.String()),
  sha256: Nullable(Type.String()),
  /** How the server confirmed it: sha256 (same digest reported), size (accepted, no checksum reported), none. */
  verified_by: Nullable(Type.Union([Type.Literal('sha256'), Type.Literal('size'), Type.Literal('none')])),
  /** The processing server this task goes to (its status and retries use it); UPLOAD_TARGET=s3: `s3://<bucket>/<prefix>`. */
  target_url: Nullable(Type.String()),
  /** UPLOAD_TARGET=s3: the bucket's state of the task; null for tasks sent to a server. */
  s3: Nullable(S3TaskViewSchema),
  last_error: Nullable(ErrorInfo),
  created_at: Type.String(),
  completed_at: Nullable(Type.String()),
  processing: Nullable(ProcessingViewSchema),
  /**
   * A segmented recording's task (sent part by part while it records): "3 of 4 parts on the
   * server" (`total` null while recording) and the backlog (`waiting` parts, `waiting_bytes`).
   */
  parts: Type.Optional(
    Type.Object({
      total: Nullable(Type.Number()),
      uploaded: Type.Number(),
      waiting: Type.Number(),
      waiting_bytes: Type.Number(),
      mode: Type.Union([Type.Literal('parts'), Type.Literal('joined')]),
      /** The part (0-based) on its way while the recorder still writes it; absent when none. */
      open_part: Type.Optional(Type.Number()),
    }),
  ),
});

export const RecordingViewSchema = Type.Object({
  id: Type.String(),
  sessionId: Type.String(),
  sessionName: Type.String(),
  title: Type.String(),
  date: Type.String(),
  /** recording | finalizing | ready | failed | lost */
  state: Type.String(),
  durationSeconds: Nullable(Type.Number()),
  sizeBytes: Nullable(Type.Number()),
  sha256: Nullable(Type.String()),
  fileName: Nullable(Type.String()),
  hasThumbnail: Type.Boolean(),
  error: Nullable(ErrorInfo),
  upload: Nullable(UploadViewSchema),
});

/** GET /api/status and the SSE `status` event. */
export const StatusViewSchema = Type.Object({
  success: Type.Literal(true),
  version: Type.String(),
  recorder: Type.Object({
    kind: Type.Union([Type.Literal('obs'), Type.Literal('ffmpeg')]),
    connected: Type.Boolean(),
    recording: Type.Boolean(),
    state: Type.String(),
    session: Nullable(Type.Object({ id: Type.String(), name: Type.String() })),
    startedAt: Nullable(Type.String()),
    elapsedSeconds: Type.Number(),
    error: Nullable(Type.String()),
  }),
  uploads: Type.Object({ active: Type.Number(), queued: Type.Number() }),
  vultr: Type.Object({
    url: Type.String(),
    embedded: Type.Boolean(),
    autoUpload: Type.Boolean(),
    protocol: Type.String(),
  }),
});

export const HistoryEntrySchema = Type.Object({
  at: Type.String(),
  state: Type.String(),
  message: Nullable(Type.String()),
});

export const RecordingAnswerSchema = Type.Object({
  success: Type.Literal(true),
  message: Type.Optional(Type.String()),
  recording: RecordingViewSchema,
});

export const RecordingsAnswerSchema = Type.Object({
  success: Type.Literal(true),
  recordings: Type.Array(RecordingViewSchema),
});

export const HealthAnswerSchema = Type.Object({
  status: Type.Literal('healthy'),
  timestamp: Type.String(),
});

export const UploadStartedAnswerSchema = Type.Object({
  success: Type.Literal(true),
  task_id: Type.String(),
  task_ids: Type.Array(Type.String()),
  file_name: Nullable(Type.String()),
  file_size: Nullable(Type.Number()),
  upload_time: Type.String({ description: 'YYYY-MM-DD HH:MM:SS, local time (the original’s form)' }),
  message: Type.String(),
});

export const UploadStatusAnswerSchema = Type.Composite([
  Type.Object({ success: Type.Literal(true) }),
  UploadViewSchema,
  Type.Object({
    history: Type.Array(HistoryEntrySchema),
    server: ServerJson,
    status: ServerJson,
  }),
]);

export const UploadAnswerSchema = Type.Object({ success: Type.Literal(true), upload: UploadViewSchema });

export const UploadsAnswerSchema = Type.Object({
  success: Type.Literal(true),
  uploads: Type.Array(UploadViewSchema),
});

export const ConnectionCheckSchema = Type.Object({
  name: Type.String(),
  ok: Type.Boolean(),
  detail: Type.String(),
});

export const ConnectionTestAnswerSchema = Type.Object({
  success: Type.Boolean(),
  message: Type.String(),
  server_info: ServerJson,
  checks: Type.Array(ConnectionCheckSchema),
});

export const VultrStatusAnswerSchema = Type.Object({
  success: Type.Literal(true),
  url: Type.String(),
  embedded: Type.Boolean(),
  endpoint: Type.String(),
  auto_upload: Type.Boolean(),
  protocol: Type.String(),
  api_key_set: Type.Boolean(),
  retries: Type.Number(),
  concurrency: Type.Number(),
  max_rate_bytes_per_second: Nullable(Type.Number()),
  compress: Type.String(),
  config: Type.Object({
    configured: Type.Boolean(),
    api_url: Type.String(),
    upload_endpoint: Type.String(),
    auto_upload: Type.Boolean(),
  }),
  connection: ConnectionTestAnswerSchema,
});

export const LoginAnswerSchema = Type.Object({ success: Type.Literal(true), required: Type.Boolean() });

/** GET /api/retention: the policy, free space, what was deleted and why, what goes next, what is kept. */
export const RetentionAnswerSchema = Type.Object({
  success: Type.Boolean(),
  policy: Type.String({ description: 'keep, delete-after-days:N or max-gb:N' }),
  min_free_bytes: Type.Number(),
  disk: Type.Object({ path: Type.String(), free_bytes: Nullable(Type.Number()), low: Type.Boolean() }),
  local_bytes: Type.Number(),
  next: Type.Array(
    Type.Object({
      recording_id: Type.String(),
      session_name: Type.String(),
      file_name: Type.String(),
      size: Type.Number(),
      due_at: Nullable(Type.String()),
      reason: Type.String(),
    }),
  ),
  kept: Type.Array(
    Type.Object({ recording_id: Type.String(), file_name: Type.String(), why: Type.String() }),
  ),
  deleted: Type.Array(
    Type.Object({
      recording_id: Type.String(),
      file_name: Type.String(),
      size: Type.Number(),
      sha256: Type.String(),
      task_id: Type.String(),
      reason: Type.String(),
      deleted_at: Type.String(),
    }),
  ),
  stopped_for_low_disk: Type.Array(
    Type.Object({
      recording_id: Type.String(),
      at: Type.String(),
      free_bytes: Type.Number(),
      min_free_bytes: Type.Number(),
      message: Type.String(),
    }),
  ),
});

export type ErrorResponse = Static<typeof ErrorResponseSchema>;
export type RetentionAnswer = Static<typeof RetentionAnswerSchema>;
export type ProcessingView = Static<typeof ProcessingViewSchema>;
export type UploadView = Static<typeof UploadViewSchema>;
export type RecordingView = Static<typeof RecordingViewSchema>;
export type StatusView = Static<typeof StatusViewSchema>;
export type HistoryEntry = Static<typeof HistoryEntrySchema>;
export type RecordingAnswer = Static<typeof RecordingAnswerSchema>;
export type UploadStartedAnswer = Static<typeof UploadStartedAnswerSchema>;
export type UploadStatusAnswer = Static<typeof UploadStatusAnswerSchema>;
export type UploadsAnswer = Static<typeof UploadsAnswerSchema>;
export type ConnectionTestAnswer = Static<typeof ConnectionTestAnswerSchema>;
export type VultrStatusAnswer = Static<typeof VultrStatusAnswerSchema>;

// ---- Processed outputs the page reads through GET /api/vultr/upload/:task_id/outputs/:name ----
// (the processing server writes them: src/processing/timeline.ts and transcribe/transcript.ts;
// docs/ARCHITECTURE.md "Processing" has their shapes). Described here so the page and the
// station's transcript index share one type and the index can check a file before trusting it.

const TimeRange = Type.Object({ start: Type.Number(), end: Type.Number() });

/** `timeline.json` (version 1). */
export const TimelineFileSchema = Type.Object({
  version: Type.Literal(1),
  duration: Type.Number(),
  loudness: Type.Object({
    interval: Type.Number(),
    unit: Type.Literal('LUFS'),
    momentary: Type.Array(Nullable(Type.Number())),
    integrated: Nullable(Type.Number()),
    range: Nullable(Type.Number()),
  }),
  silences: Type.Array(TimeRange),
  cuts: Type.Array(TimeRange),
  chapters: Nullable(
    Type.Array(Type.Object({ start: Type.Number(), end: Type.Number(), title: Type.String() })),
  ),
  thumbnails: Nullable(
    Type.Object({
      sprite: Type.String(),
      interval: Type.Number(),
      columns: Type.Number(),
      rows: Type.Number(),
      tile_width: Type.Number(),
      tile_height: Type.Number(),
      times: Type.Array(Type.Number()),
    }),
  ),
});

/** `transcript.json`: segments (subtitle cues) with their words. */
export const TranscriptFileSchema = Type.Object({
  engine: Type.String(),
  language: Type.String(),
  duration: Type.Number(),
  word_count: Type.Number(),
  segments: Type.Array(
    Type.Object({
      start: Type.Number(),
      end: Type.Number(),
      text: Type.String(),
      words: Type.Array(
        Type.Object({
          text: Type.String(),
          start: Type.Number(),
          end: Type.Number(),
          confidence: Nullable(Type.Number()),
        }),
      ),
    }),
  ),
});

/** One transcript line that holds the phrase searched for. */
export const SearchHitSchema = Type.Object({
  task_id: Type.String(),
  file_name: Type.String(),
  session_name: Nullable(Type.String()),
  recording_id: Nullable(Type.String()),
  /** Seconds of the original recording: where the player seeks. */
  start: Type.Number(),
  end: Type.Number(),
  text: Type.String(),
});

/** GET /api/search?q=… */
export const SearchAnswerSchema = Type.Object({
  success: Type.Literal(true),
  query: Type.String(),
  /** How many recordings' transcripts are in the index. */
  indexed: Type.Number(),
  hits: Type.Array(SearchHitSchema),
});

export type TimelineFile = Static<typeof TimelineFileSchema>;
export type TranscriptFile = Static<typeof TranscriptFileSchema>;
export type SearchHit = Static<typeof SearchHitSchema>;
export type SearchAnswer = Static<typeof SearchAnswerSchema>;

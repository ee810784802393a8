import type { Config, S3Config } from '../config/index.js';
import type { S3TaskState } from './s3-task-target.js';
import type { StoredObject } from './transport.js';

/** Where an upload task is in its life; see `upload-state-machine.ts` for the allowed moves. */
export type UploadState =
  'queued' | 'validating' | 'compressing' | 'uploading' | 'retry_wait' | 'completed' | 'failed' | 'cancelled';

/** How a server confirmed an upload (see `UploadTask.verifiedBy`). */
export type UploadVerification = 'sha256' | 'size' | 'none';

/** One upload task as callers see it. */
export interface UploadTask {
  /** "task_…", unique across restarts. */
  id: string;
  filePath: string;
  fileName: string;
  sessionName: string | null;
  recordingId: string | null;
  autoProcess: boolean;
  state: UploadState;
  attempts: number;
  nextAttemptAt: string | null;
  /** Bytes the server holds (tus: its offset) or has been sent in the current attempt (multipart). */
  bytesSent: number;
  /** Bytes to upload: the file's size, or the compressed copy's. */
  size: number;
  sha256: string | null;
  /**
   * How the server confirmed the completed upload: `sha256` (it reported the same digest),
   * `size` (a server of the original's kind accepted it with the same size, no checksum),
   * `none` (accepted, neither reported); null while unfinished.
   */
  verifiedBy: UploadVerification | null;
  protocol: 'tus' | 'multipart' | 's3' | null;
  /**
   * Where this task goes: the server (status, retry and resumes use it) and the protocol setting
   * it was enqueued with; or, UPLOAD_TARGET=s3, `s3://<bucket>/<prefix>` with protocol `s3` and
   * the S3 endpoint (null: AWS's default for the region).
   */
  target:
    | { url: string; protocol: 'auto' | 'tus' | 'multipart' }
    | { url: string; protocol: 's3'; endpoint: string | null }
    | null;
  remoteUrl: string | null;
  lastError: { code: string; message: string } | null;
  /** Compressed size / original size when VULTR_COMPRESS was used, else null. */
  compressionRatio: number | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
  /** UPLOAD_TARGET=s3, once completed: the object's bucket, key, ETag and manifest. */
  object?: StoredObject;
  /** UPLOAD_TARGET=s3: bucket, key, parts in the bucket, and whether processing was started. */
  s3?: S3TaskState;
  /** A segmented recording's task (sent part by part while it records): where its parts stand. */
  parts?: UploadParts;
}

/**
 * The parts of a segmented recording's task ("3 of 4 parts on the server"). `waiting` parts
 * (and `waitingBytes`) are the backlog: closed locally, not yet on the server (it grows when
 * VULTR_UPLOAD_MAX_RATE is below the recording's bitrate; nothing is dropped).
 */
export interface UploadParts {
  /** How many parts the recording has; null while it records. */
  total: number | null;
  uploaded: number;
  waiting: number;
  waitingBytes: number;
  /** `parts`: sent part by part; `joined`: the target takes no parts, the joined file goes after Stop. */
  mode: 'parts' | 'joined';
  /** The part (0-based) on its way while the recorder still writes it; absent when none. */
  open?: number;
}

/** What `enqueue()` answers: the task, and a note when the options given could not be applied. */
export interface EnqueuedTask extends UploadTask {
  /**
   * Set when the file already had an unfinished task whose metadata the server already holds
   * (tus metadata cannot change after creation), so a different `sessionName`/`autoProcess`
   * was not applied: one line saying so. Null otherwise.
   */
  optionsNotice: string | null;
}

/** A progress report for the CLI and the web page. */
export interface UploadProgress {
  taskId: string;
  state: UploadState;
  bytesSent: number;
  totalBytes: number;
  rateBytesPerSecond: number;
  etaSeconds: number | null;
}

/** The upload service's typed events. */
export interface UploadServiceEvents {
  progress: [UploadProgress];
  state: [UploadTask];
  /**
   * A completed task changed without a state move (UPLOAD_TARGET=s3: the processing server was
   * asked to process its object, and answered): for views, not for counting completions.
   */
  changed: [UploadTask];
}

/**
 * What the upload service needs: the configuration's `upload` part with a server URL, plus
 * a few tunables with defaults (`uploadSettingsFromConfig`) that tests shorten.
 */
export interface UploadSettings extends Omit<Config['upload'], 'apiUrl'> {
  apiUrl: string;
  /** Where temporary compressed copies go (`<STREAMAI_DATA_DIR>/tmp`). */
  tempDir: string;
  /** First retry delay; doubles each attempt, with full jitter. */
  retryBaseDelayMs: number;
  /** Longest retry delay (before Retry-After, which is honoured up to `retryAfterMaxMs`). */
  retryMaxDelayMs: number;
  /** Shortest delay after 507 Insufficient Storage: the server needs time to free space. */
  insufficientStorageDelayMs: number;
  /** Longest Retry-After honoured. */
  retryAfterMaxMs: number;
  /** How long a file must keep the same size and mtime to count as finished. */
  growthCheckMs: number;
  /** How long to wait for the server to confirm the digest after the last byte. */
  confirmTimeoutMs: number;
  /** UPLOAD_TARGET=s3: the bucket files go to instead of the server (S3 transport). */
  s3?: S3Config | undefined;
  /** Parts of one S3 upload in flight at once [1: after a crash at most one part is sent twice]. */
  s3PartConcurrency?: number;
  /**
   * How long a claim on a task lasts unless renewed (renewed every third of it while the
   * attempt runs); another process takes the task over once it expired. Optional: 15 s.
   */
  leaseMs?: number;
}

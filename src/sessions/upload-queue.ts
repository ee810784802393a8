import { isFinished, isUploadState } from '../uploads/index.js';

/**
 * What the RecordingManager needs from the upload service (src/uploads' UploadService fits it):
 * enqueue a file, read a task, and follow its state and progress. Sessions never talk HTTP; the
 * only thing taken from the upload part is its table of states.
 */
export type UploadTaskState =
  'queued' | 'validating' | 'compressing' | 'uploading' | 'retry_wait' | 'completed' | 'failed' | 'cancelled';

/** The fields of an upload task the manager reads. */
export interface UploadTaskView {
  id: string;
  fileName: string;
  recordingId: string | null;
  state: UploadTaskState;
  size: number;
  bytesSent: number;
  sha256: string | null;
  remoteUrl: string | null;
  lastError: { code: string; message: string } | null;
  createdAt: string;
  completedAt: string | null;
  /** A segmented recording's task: its parts ("3 of 4 parts on the server") and backlog. */
  parts?: { total: number | null; uploaded: number; waiting: number; waitingBytes: number } | undefined;
}

/** The fields of an upload progress report the manager passes on. */
export interface UploadProgressView {
  taskId: string;
  state: UploadTaskState;
  bytesSent: number;
  totalBytes: number;
  rateBytesPerSecond: number;
  etaSeconds: number | null;
}

/** The upload service as the manager uses it. */
export interface UploadQueue {
  enqueue(
    filePath: string,
    options?: { sessionName?: string; recordingId?: string; autoProcess?: boolean; knownComplete?: boolean },
  ): Promise<UploadTaskView>;
  get(taskId: string): UploadTaskView | undefined;
  on(event: 'state', listener: (task: UploadTaskView) => void): unknown;
  on(event: 'progress', listener: (progress: UploadProgressView) => void): unknown;
  off(event: 'state', listener: (task: UploadTaskView) => void): unknown;
  off(event: 'progress', listener: (progress: UploadProgressView) => void): unknown;

  /**
   * Segmented recordings (CONTRACTS.md "Segmented recordings"): ONE task whose parts are sent
   * as they close. Optional: a queue without them gets the joined file after Stop instead.
   */
  openRecordingUpload?(options: {
    recordingId: string;
    sessionName: string;
    autoProcess: boolean;
    fileName: string;
    /** Where the joined recording will be (the task shows it as its file). */
    filePath?: string;
  }): Promise<string>;
  /** Uploads a closed part at once (in order per task); an index handed again is ignored. */
  addRecordingPart?(taskId: string, part: { index: number; filePath: string }): void;
  /**
   * The recorder opened this part and writes it append-only (RecorderEvents `segment-open`):
   * it is sent while it grows. It is still handed with `addRecordingPart` once closed.
   */
  growRecordingPart?(taskId: string, part: { index: number; filePath: string }): void;
  /**
   * No more parts: the recording has `count`; `joinedFilePath` is the local joined recording
   * (what a target that takes no parts gets). Called at the recorder's stop with the count, and
   * again once the joined file is there.
   */
  closeRecordingUpload?(taskId: string, options: { count: number; joinedFilePath?: string }): void;
}

/**
 * Upload states after which nothing more happens without a person acting: the upload part's
 * one `isFinished` (CONTRACTS.md), for states read back as plain text from the recordings table.
 */
export function isFinalUploadState(state: string | null): boolean {
  return state !== null && isUploadState(state) && isFinished(state);
}

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
    options?: { sessionName?: string; recordingId?: string; autoProcess?: boolean },
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
  }): Promise<string>;
  /** Uploads a closed part at once (in order per task). */
  addRecordingPart?(taskId: string, part: { index: number; filePath: string }): void;
  /** No more parts: `count` were sent; `joinedFilePath` is the local joined recording. */
  closeRecordingUpload?(taskId: string, options: { count: number; joinedFilePath?: string }): void;
}

/**
 * Upload states after which nothing more happens without a person acting: the upload part's
 * one `isFinished` (CONTRACTS.md), for states read back as plain text from the recordings table.
 */
export function isFinalUploadState(state: string | null): boolean {
  return state !== null && isUploadState(state) && isFinished(state);
}

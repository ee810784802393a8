import { exitCodeFor, isErrorCode } from '../errors/index.js';
import type { RecorderStatus } from '../recorder/index.js';
import type { RecordingView } from '../sessions/index.js';
import type { UploadTask } from '../uploads/index.js';

/** The exit status of a command that stops at an error: its code's, or `fallback`'s. */
function exitFor(error: { code: string } | null, fallback: 'CORRUPT_MEDIA' | 'UPLOAD_FAILED'): number {
  const code = error?.code;
  return code !== undefined && isErrorCode(code) ? exitCodeFor(code) : exitCodeFor(fallback);
}

/** What a finished upload task stands for as an exit status (0 when completed). */
export function uploadExitCode(task: Pick<UploadTask, 'state' | 'lastError'>): number {
  if (task.state === 'completed') return 0;
  if (task.state === 'cancelled') return exitCodeFor('UPLOAD_CANCELLED');
  return exitFor(task.lastError, 'UPLOAD_FAILED');
}

/**
 * What `streamai record` ends with: the recording's error when it is not ready, the upload's
 * when it failed or was cancelled, 130 when Ctrl-C left the upload to resume later, else 0.
 */
export function recordingExitCode(recording: RecordingView, interrupted: boolean): number {
  if (recording.state !== 'ready') return exitFor(recording.error, 'CORRUPT_MEDIA');
  if (recording.uploadState === 'failed' || recording.uploadState === 'cancelled')
    return exitFor(recording.uploadError, 'UPLOAD_FAILED');
  return interrupted ? 130 : 0;
}

/** `streamai status`: 0 when the recorder is reachable, else its error's status (69, 77 for a refused password). */
export function recorderExitCode(status: RecorderStatus): number {
  if (status.connected) return 0;
  const code = status.lastError?.code;
  return code !== undefined && isErrorCode(code) ? exitCodeFor(code) : exitCodeFor('RECORDER_UNAVAILABLE');
}

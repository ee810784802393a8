import type { RecordingManager } from './recording-manager.js';
import type { RecordingView } from './session-catalog.js';
import type { RecordingUploadEvent } from './recording-uploads.js';
import { isFinalUploadState } from './upload-queue.js';

/**
 * Resolves when the manager is no longer recording (a stop, or the source ending by itself), or
 * when `signal` aborts (a duration, Ctrl-C) — whichever comes first.
 */
export function untilNotRecording(manager: RecordingManager, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      manager.off('state', onState);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const onState = (): void => {
      if (!manager.status().recording) done();
    };
    manager.on('state', onState);
    signal?.addEventListener('abort', done, { once: true });
    if (signal?.aborted || !manager.status().recording) done();
  });
}

/**
 * Resolves with the recording once its upload is finished (completed, failed, cancelled — the
 * upload part's `isFinished`), or as it stands when `signal` aborts (Ctrl-C: the task stays
 * queued and resumes later). A recording without an upload resolves at once.
 */
export function untilUploadFinished(
  manager: RecordingManager,
  recordingId: string,
  signal?: AbortSignal,
): Promise<RecordingView | undefined> {
  return new Promise((resolve) => {
    const check = (): void => {
      const current = manager.getRecording(recordingId);
      const state = current?.uploadState ?? null;
      if (signal?.aborted || current?.uploadTaskId === null || isFinalUploadState(state)) {
        manager.off('upload', onUpload);
        signal?.removeEventListener('abort', check);
        resolve(current);
      }
    };
    const onUpload = (e: RecordingUploadEvent): void => {
      if (e.recordingId === recordingId) check();
    };
    manager.on('upload', onUpload);
    signal?.addEventListener('abort', check, { once: true });
    check();
  });
}

import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { SessionRepository } from '../store/index.js';
import type { RecordingView } from './session-catalog.js';
import {
  isFinalUploadState,
  type UploadProgressView,
  type UploadQueue,
  type UploadTaskView,
} from './upload-queue.js';

/** An upload's state or progress, tied to its recording. */
export interface RecordingUploadEvent {
  recordingId: string;
  sessionId: string;
  taskId: string;
  state: string;
  bytesSent: number;
  totalBytes: number;
  rateBytesPerSecond: number | null;
  etaSeconds: number | null;
  error: { code: string; message: string } | null;
}

/** What the upload follower needs from the manager. */
export interface RecordingUploadsOptions {
  repo: SessionRepository;
  queue: UploadQueue;
  logger: Logger;
  now: () => Date;
  writeMetadata: (sessionId: string) => Promise<void>;
  announce: (recordingId: string) => void;
  emitUpload: (kind: 'upload' | 'upload-progress', event: RecordingUploadEvent) => void;
}

/**
 * Enqueues recordings with the upload queue and mirrors each task's state onto its recording
 * (the recording's `upload*` fields and the session's metadata), so a restart, the page and
 * `streamai list` see where every upload stands.
 */
export class RecordingUploads {
  /** Recordings whose upload is being enqueued right now. */
  private readonly enqueueing = new Set<string>();

  constructor(private readonly options: RecordingUploadsOptions) {}

  /** Follows the queue's events; returns the unsubscriber. */
  subscribe(): () => void {
    const { queue } = this.options;
    const onState = (task: UploadTaskView) => this.onState(task);
    const onProgress = (progress: UploadProgressView) => this.onProgress(progress);
    queue.on('state', onState);
    queue.on('progress', onProgress);
    return () => {
      queue.off('state', onState);
      queue.off('progress', onProgress);
    };
  }

  /** Enqueues a ready recording's file and returns the task id (INVALID_STATE when not ready). */
  async upload(recording: RecordingView, autoProcess: boolean): Promise<string> {
    const { queue, logger, writeMetadata } = this.options;
    if (recording.state !== 'ready' || !recording.filePath) {
      throw new AppError(
        'INVALID_STATE',
        `recording ${recording.id} is ${recording.state}, not ready to upload`,
      );
    }
    // The service may report the new task's first states before enqueue() returns: adopt them.
    this.enqueueing.add(recording.id);
    let task: UploadTaskView;
    try {
      task = await queue.enqueue(recording.filePath, {
        sessionName: recording.sessionName,
        recordingId: recording.id,
        autoProcess,
      });
    } finally {
      this.enqueueing.delete(recording.id);
    }
    logger.info({ recordingId: recording.id, taskId: task.id }, 'upload enqueued');
    this.onState(queue.get(task.id) ?? task, true);
    await writeMetadata(recording.sessionId);
    return task.id;
  }

  /** After a restart: bring stored upload states up to date with the upload service. */
  sync(): void {
    const { repo, queue } = this.options;
    for (const recording of repo.listAllRecordings(10_000)) {
      if (!recording.uploadTaskId || isFinalUploadState(recording.uploadState)) continue;
      const task = queue.get(recording.uploadTaskId);
      if (task) this.onState(task);
    }
  }

  private onState(task: UploadTaskView, adopt = false): void {
    const { repo, now, writeMetadata, announce, emitUpload, logger } = this.options;
    const recording =
      (task.recordingId ? repo.getRecording(task.recordingId) : undefined) ??
      repo.findRecordingByUploadTask(task.id);
    if (!recording) return;
    if (recording.uploadTaskId !== task.id) {
      if (!adopt && !this.enqueueing.has(recording.id)) return;
      repo.updateRecording(recording.id, { uploadTaskId: task.id, uploadQueuedAt: task.createdAt });
      recording.uploadState = null;
    }
    if (recording.uploadState !== task.state || task.state !== 'completed') {
      repo.updateRecording(recording.id, {
        uploadState: task.state,
        uploadError: task.lastError,
        uploadedAt: task.state === 'completed' ? (task.completedAt ?? now().toISOString()) : null,
      });
      writeMetadata(recording.sessionId).catch((error: unknown) =>
        logger.error({ err: error }, 'metadata write failed'),
      );
      announce(recording.id);
    }
    emitUpload('upload', {
      recordingId: recording.id,
      sessionId: recording.sessionId,
      taskId: task.id,
      state: task.state,
      bytesSent: task.bytesSent,
      totalBytes: task.size,
      rateBytesPerSecond: null,
      etaSeconds: null,
      error: task.lastError,
    });
  }

  private onProgress(progress: UploadProgressView): void {
    const recording = this.options.repo.findRecordingByUploadTask(progress.taskId);
    if (!recording) return;
    this.options.emitUpload('upload-progress', {
      recordingId: recording.id,
      sessionId: recording.sessionId,
      taskId: progress.taskId,
      state: progress.state,
      bytesSent: progress.bytesSent,
      totalBytes: progress.totalBytes,
      rateBytesPerSecond: progress.rateBytesPerSecond,
      etaSeconds: progress.etaSeconds,
      error: null,
    });
  }
}

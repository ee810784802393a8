import path from 'node:path';
import { AppError, isAppError, toAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { SessionRepository } from '../store/index.js';
import type { RecordingView } from './session-catalog.js';
import { listSegmentFiles } from '../recorder/index.js';
import { removeSegments } from './session-files.js';
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

/** A recording sent in parts: its task (undefined if it could not be opened) and how many parts it has so far. */
interface PartUpload {
  task: Promise<string | undefined>;
  count: number;
  /** Part indexes handed to the task by this process (each once). */
  handed: Set<number>;
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
  /** Segmented recordings sent part by part: the task (undefined if it could not be opened) and the parts handed. */
  private readonly partUploads = new Map<string, PartUpload>();

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
        // Our recorder closed it and finalisation measured it: no growth check before sending.
        knownComplete: true,
      });
    } finally {
      this.enqueueing.delete(recording.id);
    }
    logger.info({ recordingId: recording.id, taskId: task.id }, 'upload enqueued');
    this.onState(queue.get(task.id) ?? task, true);
    await writeMetadata(recording.sessionId);
    return task.id;
  }

  /** Auto-upload of a ready recording; a failure to enqueue is stored as the recording's upload failure. */
  async autoUpload(recording: RecordingView, autoProcess: boolean): Promise<void> {
    const { repo, logger, writeMetadata, announce } = this.options;
    try {
      await this.upload(recording, autoProcess);
    } catch (error) {
      logger.error({ err: error, recordingId: recording.id }, 'auto-upload could not be enqueued');
      const appError = isAppError(error) ? error : toAppError(error, 'enqueueing the upload failed');
      repo.updateRecording(recording.id, {
        uploadState: 'failed',
        uploadError: { code: appError.code, message: appError.message },
      });
      await writeMetadata(recording.sessionId);
      announce(recording.id);
    }
  }

  /**
   * A part of a recording closed while it records: the recording's one task is opened at the
   * first part, and each part is handed to it in order (CONTRACTS.md "Segmented recordings").
   * Nothing happens with a queue that does not take parts: the joined file is sent after Stop.
   */
  addPart(recording: RecordingView, part: { index: number; filePath: string }, autoProcess: boolean): void {
    if (!this.takesParts()) return;
    const entry = this.entryFor(recording, autoProcess);
    entry.count = Math.max(entry.count, part.index + 1);
    this.handParts(entry, [part]);
  }

  /**
   * The recorder opened a part it writes append-only: the recording's task (opened now if this
   * is the first part) sends it while it grows, so Stop leaves only its last bytes to send.
   */
  openPart(recording: RecordingView, part: { index: number; filePath: string }, autoProcess: boolean): void {
    const { queue, logger } = this.options;
    if (!this.takesParts() || !queue.growRecordingPart) return;
    const entry = this.entryFor(recording, autoProcess);
    entry.task = entry.task.then((taskId) => {
      if (taskId === undefined) return undefined;
      try {
        queue.growRecordingPart?.(taskId, part);
      } catch (error) {
        logger.error({ err: error, taskId, part }, 'a part being recorded could not be handed to the upload');
      }
      return taskId;
    });
  }

  /**
   * The recording's parts are all closed (`segments`, in order: at the recorder's stop, or the
   * parts a restart found on disk) and/or its local joined file is there: tells its part task
   * the count and the file. After a restart the task is found through the recording's
   * `uploadTaskId`, and parts it already has are not handed twice (the queue ignores an index
   * it knows). False when the recording was not sent in parts (the caller uploads the file).
   */
  async closeParts(
    recordingId: string,
    input: { segments?: readonly string[] | undefined; joinedFilePath?: string | undefined },
  ): Promise<boolean> {
    const { queue, logger } = this.options;
    const entry = this.partUploads.get(recordingId) ?? this.adoptPartTask(recordingId);
    if (!entry || !queue.closeRecordingUpload) return false;
    if (input.segments && input.segments.length > 0) {
      this.handParts(
        entry,
        input.segments.map((filePath, index) => ({ index, filePath })),
      );
      entry.count = input.segments.length;
    }
    const taskId = await entry.task;
    if (taskId === undefined) return false;
    if (entry.count === 0) return true; // nothing closed yet: the count comes with the parts
    try {
      queue.closeRecordingUpload(taskId, {
        count: entry.count,
        ...(input.joinedFilePath !== undefined ? { joinedFilePath: input.joinedFilePath } : {}),
      });
    } catch (error) {
      logger.error({ err: error, taskId }, 'the recording upload could not be closed');
      return false;
    }
    if (input.joinedFilePath !== undefined) this.partUploads.delete(recordingId);
    logger.info({ recordingId, taskId, parts: entry.count }, 'recording upload closed');
    return true;
  }

  /**
   * A recording was finalized (moved, checked, joined when in parts): a recording sent part by
   * part is told what is left — the parts a restart found, the count and the joined file (an
   * earlier run may have joined them already: the parts are still on disk). Otherwise, once it
   * is ready, its parts are no longer needed and, with auto-upload, the file is enqueued.
   */
  async afterFinalized(
    view: RecordingView,
    options: {
      source: string | null;
      /** The parts the join used, when it joined some. */
      parts: readonly string[] | undefined;
      autoUpload: { autoProcess: boolean } | undefined;
    },
  ): Promise<void> {
    const { source } = options;
    const segments = options.parts ?? (source ? await listSegmentFiles(source) : []);
    const sentAsParts = await this.closeParts(view.id, {
      segments,
      joinedFilePath: view.state === 'ready' ? (view.filePath ?? undefined) : undefined,
    });
    if (view.state !== 'ready' || sentAsParts) return;
    // Joined and verified, and not needed for an upload in parts: the parts can go.
    if (source) await removeSegments(source, this.options.logger);
    if (options.autoUpload) await this.autoUpload(view, options.autoUpload.autoProcess);
  }

  /**
   * The recording's part upload: the one this process follows, else (after a restart, an OBS
   * recording going on) the task a previous run opened, else a new task opened now.
   */
  private entryFor(recording: RecordingView, autoProcess: boolean): PartUpload {
    let entry = this.partUploads.get(recording.id) ?? this.adoptPartTask(recording.id);
    if (!entry) {
      entry = { task: this.openPartTask(recording, autoProcess), count: 0, handed: new Set() };
      this.partUploads.set(recording.id, entry);
    }
    return entry;
  }

  private takesParts(): boolean {
    const { queue } = this.options;
    return queue.openRecordingUpload !== undefined && queue.addRecordingPart !== undefined;
  }

  /** Hands parts to the task in order, once it is open. */
  private handParts(entry: PartUpload, all: Array<{ index: number; filePath: string }>): void {
    const { queue, logger } = this.options;
    const parts = all.filter((p) => !entry.handed.has(p.index));
    for (const part of parts) entry.handed.add(part.index);
    if (parts.length === 0) return;
    entry.task = entry.task.then((taskId) => {
      if (taskId === undefined) return undefined;
      for (const part of parts) {
        try {
          queue.addRecordingPart?.(taskId, part);
        } catch (error) {
          logger.error({ err: error, taskId, part }, 'a recorded part could not be handed to the upload');
        }
      }
      return taskId;
    });
  }

  /** After a restart: the part task a previous run opened for this recording, if it is still open. */
  private adoptPartTask(recordingId: string): PartUpload | undefined {
    if (!this.takesParts()) return undefined;
    const taskId = this.options.repo.getRecording(recordingId)?.uploadTaskId;
    const task = taskId ? this.options.queue.get(taskId) : undefined;
    if (!task?.parts || isFinalUploadState(task.state)) return undefined;
    const entry: PartUpload = { task: Promise.resolve(task.id), count: 0, handed: new Set() };
    this.partUploads.set(recordingId, entry);
    return entry;
  }

  private async openPartTask(recording: RecordingView, autoProcess: boolean): Promise<string | undefined> {
    const { queue, repo, logger, now, writeMetadata } = this.options;
    if (!queue.openRecordingUpload) return undefined;
    this.enqueueing.add(recording.id);
    let taskId: string;
    try {
      taskId = await queue.openRecordingUpload({
        recordingId: recording.id,
        sessionName: recording.sessionName,
        autoProcess,
        fileName: path.basename(recording.sourcePath ?? `${recording.id}.mkv`),
        ...(recording.sourcePath ? { filePath: recording.sourcePath } : {}),
      });
    } catch (error) {
      logger.error({ err: error, recordingId: recording.id }, 'the recording upload could not be opened');
      return undefined;
    } finally {
      this.enqueueing.delete(recording.id);
    }
    if (repo.getRecording(recording.id)?.uploadTaskId !== taskId) {
      repo.updateRecording(recording.id, { uploadTaskId: taskId, uploadQueuedAt: now().toISOString() });
    }
    const task = queue.get(taskId);
    if (task) this.onState(task, true);
    await writeMetadata(recording.sessionId);
    logger.info({ recordingId: recording.id, taskId }, 'recording upload opened for its parts');
    return taskId;
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
    if (task.state === 'completed' && recording.uploadState !== 'completed' && recording.sourcePath) {
      // The server has the recording: the parts kept for its upload are no longer needed.
      void removeSegments(recording.sourcePath, logger);
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

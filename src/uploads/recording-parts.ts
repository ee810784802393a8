import { statSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import type { UploadPartRepository, UploadTaskRecord, UploadTaskRepository } from '../store/index.js';
import { newQueuedTask } from './new-task.js';
import type { UploadParts, UploadTask } from './upload-types.js';

/** What `openRecordingUpload` is told about the recording. */
export interface OpenRecordingOptions {
  recordingId: string;
  sessionName: string;
  autoProcess: boolean;
  /** The recording's file name (the server's joined file gets it). */
  fileName: string;
  /** Where the joined recording will be (shown as the task's file until then). */
  filePath?: string;
}

/** The part a recording is writing now (RecorderEvents `segment-open`): sent while it grows. */
export interface OpenPart {
  index: number;
  filePath: string;
}

/** A task's parts as its view shows them ("3 of 4 parts on the server"), or undefined for an ordinary task. */
export function partsView(parts: UploadPartRepository, taskId: string): UploadParts | undefined {
  const recording = parts.recording(taskId);
  if (!recording) return undefined;
  const counts = parts.counts(taskId);
  return {
    total: recording.partsTotal,
    uploaded: counts.uploaded,
    waiting: counts.waiting,
    waitingBytes: counts.waitingBytes,
    mode: recording.mode,
    ...(recording.openPartIndex !== null ? { open: recording.openPartIndex } : {}),
  };
}

/** The task with its `parts` when it is a segmented recording's. */
export function withParts(parts: UploadPartRepository, task: UploadTask): UploadTask {
  const view = partsView(parts, task.id);
  return view ? { ...task, parts: view } : task;
}

/**
 * The station side of segmented recordings (CONTRACTS.md): opens the one task, records each
 * closed part in the task store (once per index, so a part handed again after a restart is
 * not a second part), and tells the scheduler there is something to send. The sending is the
 * part flow's (part-attempt.ts).
 */
export class RecordingPartsDesk {
  constructor(
    private readonly repo: UploadTaskRepository,
    private readonly parts: UploadPartRepository,
    /** What a new task records as its target (`recordedTarget`: the server, or the bucket). */
    private readonly options: { targetUrl: string; targetProtocol: string },
  ) {}

  open(options: OpenRecordingOptions): UploadTaskRecord {
    const now = new Date().toISOString();
    const filePath = path.resolve(options.filePath ?? options.fileName);
    const record = this.repo.insert(
      newQueuedTask(
        {
          filePath,
          fileName: options.fileName,
          fileSize: 0,
          fileMtimeMs: 0,
          sessionName: options.sessionName,
          recordingId: options.recordingId,
          autoProcess: options.autoProcess,
          targetUrl: this.options.targetUrl,
          targetProtocol: this.options.targetProtocol,
          // Parts and the joined file are closed by our recorder: no growth check.
          knownComplete: true,
        },
        now,
      ),
      'opened for a recording sent in parts while it records',
    );
    this.parts.openRecording(record.id, now);
    return record;
  }

  /** Records a closed part; false when that index was known already (handed again). */
  add(taskId: string, part: { index: number; filePath: string }): boolean {
    this.requireOpen(taskId);
    if (!Number.isInteger(part.index) || part.index < 0) {
      throw new AppError('BAD_REQUEST', `a part index is a whole number from 0, not ${part.index}`);
    }
    const absolute = path.resolve(part.filePath);
    let info;
    try {
      info = statSync(absolute);
    } catch {
      throw new AppError('FILE_NOT_FOUND', `recording part ${part.index} is missing: ${absolute}`);
    }
    if (!info.isFile() || info.size === 0) {
      throw new AppError('EMPTY_FILE', `recording part ${part.index} is empty or not a file: ${absolute}`);
    }
    const added = this.parts.addPart(
      {
        taskId,
        index: part.index,
        filePath: absolute,
        fileName: path.basename(absolute),
        fileSize: info.size,
        fileMtimeMs: info.mtimeMs,
      },
      new Date().toISOString(),
    );
    if (added) {
      // The part was sent while it was written: its row takes that upload's URL, so the part
      // resumes from the server's offset (after a restart too) instead of starting again.
      const recording = this.parts.recording(taskId);
      if (recording?.openPartIndex === part.index && recording.openPartUrl !== null) {
        this.parts.updatePart(taskId, part.index, { protocol: 'tus', remoteUrl: recording.openPartUrl });
      }
      const size = this.parts.parts(taskId).reduce((sum, p) => sum + p.fileSize, 0);
      this.parts.setTaskSize(taskId, size);
    }
    return added;
  }

  /**
   * The recording stopped with `count` parts (the first count given stays). With a joined file
   * and a target that takes no parts, the task becomes an ordinary upload of that file.
   */
  close(taskId: string, options: { count: number; joinedFilePath?: string }): void {
    // A task completed already (every part was on the server before the local join finished)
    // only records the joined file: closing again is not a mistake.
    this.requireOpen(taskId, true);
    if (!Number.isInteger(options.count) || options.count < 1) {
      throw new AppError('BAD_REQUEST', `a recording has at least one part, not ${options.count}`);
    }
    const joined = options.joinedFilePath === undefined ? null : path.resolve(options.joinedFilePath);
    const recording = this.parts.closeRecording(taskId, options.count, joined);
    if (recording?.mode === 'joined' && joined !== null) this.useJoinedFile(taskId, joined);
  }

  /** The task's file becomes the joined recording (a target that takes no parts). */
  useJoinedFile(taskId: string, joined: string): void {
    const info = statSync(joined);
    this.parts.setTaskFile(taskId, {
      filePath: joined,
      fileName: path.basename(joined),
      size: info.size,
      mtimeMs: info.mtimeMs,
    });
  }

  /**
   * Cancel: the tus upload of the part being sent (if any), forgotten here so a Retry starts
   * that part afresh; the caller deletes it on the server. Null when there is none.
   */
  takePartial(taskId: string): string | null {
    const part = this.parts
      .parts(taskId)
      .find((p) => p.state === 'uploading' && p.protocol === 'tus' && p.remoteUrl !== null);
    if (part?.remoteUrl) {
      this.parts.updatePart(taskId, part.index, { state: 'pending', remoteUrl: null });
      return part.remoteUrl;
    }
    // The part being sent while it is recorded (its row, if it closed meanwhile, has that URL).
    const open = this.parts.recording(taskId)?.openPartUrl ?? null;
    if (open === null) return null;
    this.parts.setOpenPart(taskId, null, null);
    for (const p of this.parts.parts(taskId)) {
      if (p.remoteUrl === open) this.parts.updatePart(taskId, p.index, { state: 'pending', remoteUrl: null });
    }
    return open;
  }

  /** Throws TASK_NOT_FOUND / INVALID_STATE unless the task is an open recording's. */
  assertOpen(taskId: string): void {
    this.requireOpen(taskId);
  }

  private requireOpen(taskId: string, completedToo = false): UploadTaskRecord {
    const record = this.repo.get(taskId);
    if (!record || !this.parts.recording(taskId)) {
      throw new AppError('TASK_NOT_FOUND', `no recording upload task ${taskId}`);
    }
    if (!completedToo && record.state === 'completed') {
      throw new AppError('INVALID_STATE', `${taskId} is completed; it takes no more parts`);
    }
    return record;
  }
}

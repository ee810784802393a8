import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { IngestProtocol, IngestTask, IngestTaskStore } from '../store/index.js';
import { freeBytes } from './disk-space.js';
import { RecordingAssembler } from './recording-assembler.js';
import type { SegmentDeclaration } from './recording-parts.js';
import {
  fsIngestStorage,
  type IngestStorage,
  type StagedRecording,
  type TusStorage,
} from './storage/index.js';
import { TaskLock } from './task-lock.js';
import type { UploadProcessor } from './upload-processor.js';
import { RoomWatch, insufficientStorage } from './write-tap.js';

/** What a body on its way into a bucket holds on local disk at most (a few parts in temporary files). */
const S3_LOCAL_BYTES = 64 * 1024 * 1024;

/** Where an ingest server keeps things inside its data directory. */
export interface IngestPaths {
  dataDir: string;
  /** Multipart bodies being received (temporary names, removed at start-up; fs storage). */
  incomingDir: string;
  /** The tus file store's unfinished uploads. */
  tusDir: string;
  /** Verified parts of segmented recordings, until their recording is joined. */
  partsDir: string;
}

/** A complete upload, staged (hashed, not yet visible), with what the client said about it. */
export interface CompletedUpload {
  staged: StagedRecording;
  size: number;
  sha256: string;
  taskId: string;
  fileName: string;
  sessionName: string | null;
  autoProcess: boolean;
  uploadTime: string | null;
  protocol: IngestProtocol;
  uploadRef: string;
  declaredSize: number | null;
  declaredSha256: string | null;
  /** sha256 of the API key that sent it; null without keys. */
  ownerKeySha256: string | null;
  /** Set when the upload is a part of a segmented recording (then `taskId` is the part's). */
  segment?: SegmentDeclaration | undefined;
}

/** The outcome of completing an upload: the stored task, and whether this upload created it. */
export interface CompletionResult {
  task: IngestTask;
  created: boolean;
}

/** The processing view /status shows. */
export interface ProcessingView {
  state: 'queued' | 'processing' | 'done' | 'failed' | 'none';
  progress: number;
  steps: unknown[];
  report: unknown;
  outputs: Array<{ name: string; size: number }>;
  error?: { code: string; message: string };
}

/** The public state of a task: receiving → received → processing → done | failed. */
export type PublicTaskState = 'receiving' | 'received' | 'processing' | 'done' | 'failed';

/**
 * The ingest server's rules, free of HTTP: room and size checks, completing an upload
 * (verify, fsync, rename into `<data-dir>/<task_id>/`, record, hand to processing),
 * idempotency per task id, and the task views.
 */
export class IngestService {
  readonly paths: IngestPaths;
  /** Segmented recordings: opens their tasks, joins their parts, shows them in /status. */
  readonly recordings: RecordingAssembler;
  /** Where recordings and outputs are kept (INGEST_STORAGE). */
  readonly storage: IngestStorage;
  private readonly lock = new TaskLock();
  private tus: TusStorage | undefined;

  constructor(
    private readonly options: {
      dataDir: string;
      maxUploadBytes: number;
      diskReserveBytes: number;
      tasks: IngestTaskStore;
      /** The state's cross-process task lock (IngestState.lockTask); absent: this process's lock only. */
      lockTask?: <T>(taskId: string, work: () => Promise<T>) => Promise<T>;
      logger: Logger;
      processor: UploadProcessor | undefined;
      /** Absent: the data dir (INGEST_STORAGE=fs). */
      storage?: IngestStorage | undefined;
    },
  ) {
    const dataDir = path.resolve(options.dataDir);
    this.paths = {
      dataDir,
      incomingDir: path.join(dataDir, '.incoming'),
      tusDir: path.join(dataDir, '.tus'),
      partsDir: path.join(dataDir, '.parts'),
    };
    this.storage = options.storage ?? fsIngestStorage(dataDir);
    this.recordings = new RecordingAssembler({
      tasks: options.tasks,
      storage: this.storage,
      incomingDir: this.paths.incomingDir,
      logger: options.logger,
      locked: (taskId, work) => this.locked(taskId, work),
      storeJoined: (task, tempPath) => this.storeJoined(task, tempPath),
    });
  }

  /** Runs `work` under the task's lock: this process's, then the one shared by every node. */
  private locked<T>(taskId: string, work: () => Promise<T>): Promise<T> {
    const shared = this.options.lockTask;
    return this.lock.run(taskId, () => (shared ? shared(taskId, work) : work()));
  }

  /** Waits for background work (recording joins) before the database closes. */
  async close(): Promise<void> {
    await this.recordings.close();
  }

  /** The tus side of the storage (created once, by the tus routes, with the upload expiry). */
  tusStorage(expirationMs: number): TusStorage {
    this.tus ??= this.storage.createTus({
      expirationMs,
      completed: async (id) => {
        const task = await this.tasks.getByUploadRef(id);
        return task?.state === 'received' && task.fileSize !== null ? { size: task.fileSize } : undefined;
      },
      roomWatch: () => this.roomWatch(),
    });
    return this.tus;
  }

  /** Bytes stored so far of an unfinished tus upload (for /status). */
  async tusReceivedBytes(uploadRef: string): Promise<number | undefined> {
    return this.tus?.receivedBytes(uploadRef);
  }

  get tasks(): IngestTaskStore {
    return this.options.tasks;
  }

  get maxUploadBytes(): number {
    return this.options.maxUploadBytes;
  }

  /**
   * Creates the folders, finishes uploads a previous run stored but did not record (see
   * `recoverInterrupted`), and forgets multipart uploads it left half-received.
   */
  async prepare(): Promise<void> {
    await this.storage.prepare();
    await mkdir(this.paths.incomingDir, { recursive: true });
    await mkdir(this.paths.partsDir, { recursive: true });
    await this.recoverInterrupted();
    for (const task of await this.tasks.listReceiving('multipart')) {
      await this.tasks.deleteReceiving(task.taskId, task.uploadRef);
    }
    await this.recordings.resumeOpenRecordings();
  }

  /**
   * A crash between renaming a complete upload into `<task_id>/<file name>` and recording it
   * leaves the task "receiving" with its file in place (and its tus bytes gone, so HEAD would
   * answer 410). Such a file is recorded as received when it verifies against what the client
   * declared (length, and sha256 when given), recomputing its sha256; otherwise it is removed,
   * so that no unverified file stays visible.
   */
  private async recoverInterrupted(): Promise<void> {
    const receiving = [
      ...(await this.tasks.listReceiving('tus')),
      ...(await this.tasks.listReceiving('multipart')),
    ];
    for (const task of receiving) {
      try {
        await this.recoverTask(task);
      } catch (error) {
        // One unreadable task must not keep the server from starting; it stays "receiving".
        this.options.logger.error(
          { err: error, taskId: task.taskId },
          'could not check an interrupted upload',
        );
      }
    }
  }

  /** Records or removes one task's file left in place by a crash (see `recoverInterrupted`). */
  private async recoverTask(task: IngestTask): Promise<void> {
    const relPath = this.relPathOf(task.taskId, task.fileName, task.partOf !== null);
    const size = await this.storage.statRecording(relPath);
    if (size === undefined) return;
    const sha256 = await this.storage.sha256Of(relPath);
    // Without a declared length (multipart, or tus with a deferred length) there is nothing to
    // compare the size with; the rename only ever follows a complete, checked body.
    const verified =
      size > 0 &&
      (task.declaredSize === null || task.declaredSize === size) &&
      (task.declaredSha256 === null || task.declaredSha256 === sha256);
    if (!verified) {
      await this.storage.removeRecording(relPath);
      this.options.logger.warn(
        { taskId: task.taskId, bytes: size, declaredSize: task.declaredSize, sha256 },
        'removed an interrupted upload that does not verify',
      );
      return;
    }
    const received = await this.recordFile(task, relPath, size, sha256);
    if (!received) return;
    this.options.logger.info(
      { taskId: task.taskId, protocol: task.protocol, bytes: size, sha256 },
      'interrupted upload recovered',
    );
    if (received.partOf) this.recordings.joinWhenComplete(received.partOf);
    else await this.enqueue(received);
  }

  /**
   * Where a task's file goes, relative to the storage's root (data dir or S3_PREFIX):
   * `<task_id>/<file>`, or `.parts/<part task id>/<file>` for a recording's part.
   */
  private relPathOf(taskId: string, fileName: string, isPart: boolean): string {
    return isPart ? path.join('.parts', taskId, fileName) : path.join(taskId, fileName);
  }

  /** Folder holding a task's file (and its `outputs/`). */
  taskDir(taskId: string): string {
    return path.join(this.paths.dataDir, taskId);
  }

  /** Free bytes on the data directory's file system. */
  freeBytes(): Promise<number> {
    return freeBytes(this.paths.dataDir);
  }

  /** Whether the server can take uploads at all (free space above the reserve). */
  async canAcceptUploads(): Promise<{ ok: boolean; freeBytes: number }> {
    const free = await this.freeBytes();
    return { ok: free >= this.options.diskReserveBytes, freeBytes: free };
  }

  /** Throws PAYLOAD_TOO_LARGE when `declaredBytes` exceeds the limit (`slack` allows for multipart framing). */
  assertSize(declaredBytes: number, slack = 0): void {
    if (declaredBytes > this.options.maxUploadBytes + slack) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the upload is larger than this server accepts (${this.options.maxUploadBytes} bytes)`,
      );
    }
  }

  /**
   * Throws INSUFFICIENT_STORAGE when storing `declaredBytes` more would leave less than the
   * reserve free. In a bucket a body only passes through this disk a part at a time, so only
   * that much room is asked for.
   */
  async assertRoom(declaredBytes: number): Promise<void> {
    const needed = this.storage.kind === 's3' ? Math.min(declaredBytes, S3_LOCAL_BYTES) : declaredBytes;
    const free = await this.freeBytes();
    if (free - needed < this.options.diskReserveBytes) throw insufficientStorage();
  }

  /** A watch that stops a body being written when free space reaches the reserve (see RoomWatch). */
  roomWatch(): RoomWatch {
    return new RoomWatch(() => this.freeBytes(), this.options.diskReserveBytes);
  }

  /**
   * Completes an upload: verifies it against the client's sha256, then either makes it visible
   * at `<data-dir>/<task_id>/<file name>` (fsynced, renamed) or — when the task already has a
   * file — keeps the existing one (same sha256) or refuses (TASK_CONFLICT). The temporary file
   * is gone afterwards in every case.
   */
  async complete(upload: CompletedUpload): Promise<CompletionResult> {
    try {
      if (upload.declaredSha256 && upload.declaredSha256 !== upload.sha256) {
        await this.tasks.deleteReceiving(upload.taskId, upload.uploadRef);
        throw new AppError(
          'CHECKSUM_MISMATCH',
          `sha256 of the received bytes (${upload.sha256}) differs from the declared ${upload.declaredSha256}; the upload was discarded`,
        );
      }
      if (upload.size === 0) {
        await this.tasks.deleteReceiving(upload.taskId, upload.uploadRef);
        throw new AppError('EMPTY_FILE', 'the uploaded file is empty');
      }
      const segment = upload.segment;
      if (segment) await this.recordings.open(segment, upload);
      const result = await this.locked(upload.taskId, () => this.store(upload));
      if (segment) this.recordings.joinWhenComplete(segment.recordingTaskId);
      else if (result.created) await this.enqueue(result.task);
      return result;
    } finally {
      await upload.staged.discard();
    }
  }

  /** Fails fast when a task already holds a file that cannot be this one (different size or sha256). */
  async assertNoConflict(
    taskId: string,
    declared: { size?: number | null; sha256?: string | null },
  ): Promise<IngestTask | undefined> {
    const task = await this.tasks.get(taskId);
    if (task?.state !== 'received') return undefined;
    const differs =
      (declared.sha256 != null && declared.sha256 !== task.sha256) ||
      (declared.size != null && declared.size !== task.fileSize);
    if (differs) throw conflict(taskId);
    return task;
  }

  /** Hands a received task to the processor (when there is one and the task asked for it). */
  private async enqueue(task: IngestTask): Promise<void> {
    if (!this.options.processor || !task.autoProcess || !task.filePath) return;
    try {
      await this.requestProcessing(task);
    } catch (error) {
      // The file is safely stored either way; processing can be asked for again.
      this.options.logger.error({ err: error, taskId: task.taskId }, 'could not queue processing');
    }
  }

  /**
   * Queues processing of a received task, with the paths its run reads and writes on the
   * machine that runs it (s3: scratch paths the run hooks fill from, and empty into, the bucket).
   */
  async requestProcessing(task: IngestTask): Promise<void> {
    const processor = this.options.processor;
    if (!processor) throw new AppError('PROCESSING_UNAVAILABLE', 'this server does not process uploads');
    if (task.state !== 'received' || !task.filePath) {
      throw new AppError('INVALID_STATE', `task ${task.taskId} is still being uploaded`);
    }
    const paths = await this.storage.processingPaths(task.taskId, task.filePath);
    await processor.enqueue({ taskId: task.taskId, ...paths });
  }

  private async store(upload: CompletedUpload): Promise<CompletionResult> {
    const existing = await this.tasks.get(upload.taskId);
    if (existing?.state === 'received') {
      await this.tasks.deleteReceiving(upload.taskId, upload.uploadRef);
      if (existing.sha256 === upload.sha256) return { task: existing, created: false };
      throw conflict(upload.taskId);
    }
    const relPath = this.relPathOf(upload.taskId, upload.fileName, upload.segment !== undefined);
    await upload.staged.commit(relPath);
    const recorded = await this.tasks.markReceived(
      {
        taskId: upload.taskId,
        protocol: upload.protocol,
        uploadRef: upload.uploadRef,
        fileName: upload.fileName,
        sessionName: upload.sessionName,
        // A part is never processed on its own: its recording is, once joined.
        autoProcess: upload.segment ? false : upload.autoProcess,
        uploadTime: upload.uploadTime,
        declaredSize: upload.declaredSize,
        declaredSha256: upload.declaredSha256,
        ownerKeySha256: upload.ownerKeySha256,
        partOf: upload.segment?.recordingTaskId ?? null,
        partIndex: upload.segment?.index ?? null,
        recordingId: upload.segment?.recordingId ?? null,
      },
      {
        fileName: upload.fileName,
        fileSize: upload.size,
        sha256: upload.sha256,
        filePath: relPath,
      },
    );
    const task = await this.tasks.get(upload.taskId);
    if (!task) throw new AppError('INTERNAL_ERROR', 'the task vanished while it was stored');
    if (!recorded) {
      // Another node recorded this task first (the lock above is this process's only).
      if (task.sha256 === upload.sha256) return { task, created: false };
      throw conflict(upload.taskId);
    }
    this.options.logger.info(
      { taskId: task.taskId, protocol: task.protocol, bytes: task.fileSize, sha256: task.sha256 },
      'upload received',
    );
    return { task, created: true };
  }

  /** Makes a recording's verified joined file its task's file, then queues its processing (once). */
  private async storeJoined(task: IngestTask, tempPath: string): Promise<void> {
    const staged = await this.storage.stageFile(tempPath);
    const relPath = this.relPathOf(task.taskId, task.fileName, false);
    try {
      await staged.commit(relPath);
    } finally {
      await staged.discard();
    }
    const received = await this.recordFile(task, relPath, staged.size, staged.sha256);
    if (received) await this.enqueue(received);
  }

  /** Marks a receiving task received with the verified file now at `relPath`; the stored task. */
  private async recordFile(
    task: IngestTask,
    relPath: string,
    size: number,
    sha256: string,
  ): Promise<IngestTask | undefined> {
    await this.tasks.markReceived(task, {
      fileName: task.fileName,
      fileSize: size,
      sha256,
      filePath: relPath,
    });
    return await this.tasks.get(task.taskId);
  }

  /** The processing view and public state of a task. */
  async viewOf(task: IngestTask, receivedBytes?: number): Promise<Record<string, unknown>> {
    const processing = await this.processingOf(task);
    let state: PublicTaskState = task.state;
    if (task.state === 'received' && processing.state !== 'none') {
      state =
        processing.state === 'queued' || processing.state === 'processing' ? 'processing' : processing.state;
    }
    const processingBody: Record<string, unknown> = {
      steps: processing.steps,
      progress: processing.progress,
      report: processing.report,
    };
    if (processing.state !== 'none') {
      processingBody.state = processing.state;
      processingBody.outputs = processing.outputs;
      if (processing.error) processingBody.error = processing.error;
    }
    return {
      task_id: task.taskId,
      state,
      upload: {
        file_name: task.fileName,
        file_size: task.fileSize ?? task.declaredSize,
        received_bytes: task.state === 'received' ? task.fileSize : (receivedBytes ?? null),
        sha256: task.sha256,
        protocol: task.protocol,
        session_name: task.sessionName,
        auto_process: task.autoProcess,
        upload_time: task.uploadTime,
        created_at: task.createdAt,
        completed_at: task.completedAt,
      },
      processing: processingBody,
      ...(await this.recordings.view(task)),
    };
  }

  private async processingOf(task: IngestTask): Promise<ProcessingView> {
    const none: ProcessingView = { state: 'none', progress: 0, steps: [], report: null, outputs: [] };
    if (task.state !== 'received' || !this.options.processor) return none;
    try {
      const view = await this.options.processor.status(task.taskId);
      return view ? { ...view } : none;
    } catch (error) {
      this.options.logger.warn({ err: error, taskId: task.taskId }, 'processor status failed');
      return none;
    }
  }
}

function conflict(taskId: string): AppError {
  return new AppError(
    'TASK_CONFLICT',
    `task ${taskId} already holds a different file; use a new task_id for different content`,
  );
}

import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import type { Db, UploadTaskRecord } from '../store/index.js';
import { UploadPartRepository } from '../store/upload-part-repository.js';
import { UploadTaskRepository } from '../store/upload-task-repository.js';
import {
  RecordingPartsDesk,
  withParts,
  type OpenPart,
  type OpenRecordingOptions,
} from './recording-parts.js';
import { TargetClients } from './target-clients.js';
import { RateLimiter } from './rate-limiter.js';
import { S3Target } from './s3-target.js';
import { recordedTarget } from './s3-task-target.js';
import { statUploadable } from './file-checks.js';
import { fetchRemoteStatus } from './server-api.js';
import { newQueuedTask } from './new-task.js';
import { TaskMoves } from './task-moves.js';
import { toTask } from './task-view.js';
import { transportFor } from './transports.js';
import { AttemptPipeline } from './upload-attempt.js';
import { DEFAULT_LEASE_MS, NO_SERVER_URL } from './upload-settings.js';
import { UploadScheduler } from './upload-scheduler.js';
import { FINISHED_STATES, canMove, isFinished, isUploadState } from './upload-state-machine.js';
import type {
  EnqueuedTask,
  UploadServiceEvents,
  UploadSettings,
  UploadState,
  UploadTask,
} from './upload-types.js';

function optionsText(sessionName: string | null, autoProcess: boolean): string {
  return `session name ${sessionName === null ? '(none)' : JSON.stringify(sessionName)}, auto_process=${autoProcess}`;
}

/**
 * What enqueueing a file that already has an unfinished task does with the options given.
 * Before the task's metadata reached the server (no tus upload created there, no attempt
 * sending it) the new `sessionName`/`autoProcess` replace the old ones; after, they are kept,
 * since tus metadata cannot change after creation (and a multipart body in flight carries
 * them), and the history and `notice` say so. Options not given keep their value.
 */
function reenqueueOutcome(
  current: UploadTaskRecord,
  options: { sessionName?: string; autoProcess?: boolean },
  heldElsewhere: (record: UploadTaskRecord) => boolean,
): {
  changes: { sessionName?: string | null; autoProcess?: boolean };
  event: { state: string; message: string };
  notice: string | null;
} {
  const event = (message: string): { state: string; message: string } => ({ state: current.state, message });
  const sessionName = options.sessionName ?? current.sessionName;
  const autoProcess = options.autoProcess ?? current.autoProcess;
  if (sessionName === current.sessionName && autoProcess === current.autoProcess) {
    return { changes: {}, event: event('enqueued again: resuming this unfinished task'), notice: null };
  }
  const old = optionsText(current.sessionName, current.autoProcess);
  const wanted = optionsText(sessionName, autoProcess);
  const sending = current.state === 'uploading' && heldElsewhere(current);
  if (current.remoteUrl === null && !sending) {
    return {
      changes: { sessionName, autoProcess },
      event: event(`enqueued again: resuming this unfinished task with ${wanted} (was ${old})`),
      notice: null,
    };
  }
  const why =
    current.remoteUrl !== null
      ? 'the upload was already created on the server, and tus metadata cannot change after creation'
      : 'an attempt is already sending them to the server';
  const notice = `${current.id} keeps ${old}, not ${wanted}: ${why}`;
  return { changes: {}, event: event(`enqueued again: resuming this unfinished task; ${notice}`), notice };
}

/** How `enqueue` treats a file; see there. */
export interface EnqueueOptions {
  sessionName?: string;
  recordingId?: string;
  autoProcess?: boolean;
  /** Refuse a missing file, an empty file or a folder at once (throw), leaving no task behind. */
  requireFile?: boolean;
  /** The caller knows the file is finished (a closed recording): no 1-second growth check. */
  knownComplete?: boolean;
}

/**
 * The station's upload service: a durable queue in SQLite, workers that validate, hash,
 * optionally compress and upload each file (tus when the server offers it, else multipart),
 * retry temporary failures with backoff, and complete a task only when the server confirms
 * the same sha256. Every state change is written to the task's history.
 *
 * This class is the face (the API its callers use); `UploadScheduler` decides when and where
 * attempts run, `AttemptPipeline` what one attempt does, `TaskMoves` writes every state move.
 */
export class UploadService extends EventEmitter<UploadServiceEvents> {
  private readonly repo: UploadTaskRepository;
  private readonly parts: UploadPartRepository;
  private readonly desk: RecordingPartsDesk;
  /** The part each segmented recording is writing now (sent while it grows), by task id. */
  private readonly openParts = new Map<string, OpenPart>();
  private readonly settings: UploadSettings;
  private readonly logger: Logger;
  private readonly targets: TargetClients;
  private readonly moves: TaskMoves;
  private readonly scheduler: UploadScheduler;
  /** UPLOAD_TARGET=s3: every task goes into the bucket. */
  private readonly s3: S3Target | undefined;
  private readonly waiters = new Map<
    string,
    Array<{ resolve: (task: UploadTask) => void; reject: (e: unknown) => void }>
  >();
  private closed = false;

  constructor(options: { db: Db; settings: UploadSettings; logger?: Logger }) {
    super();
    this.repo = new UploadTaskRepository(options.db);
    this.parts = new UploadPartRepository(options.db);
    this.desk = new RecordingPartsDesk(this.repo, this.parts, recordedTarget(options.settings));
    this.settings = options.settings;
    this.logger = (options.logger ?? silentLogger()).child({ part: 'uploads' });
    this.targets = new TargetClients(options.settings);
    const limiter =
      options.settings.maxRateBytesPerSecond === undefined
        ? undefined
        : new RateLimiter(options.settings.maxRateBytesPerSecond);
    this.s3 =
      options.settings.s3 === undefined
        ? undefined
        : new S3Target(
            {
              db: options.db,
              s3: options.settings.s3,
              partSizeBytes: options.settings.chunkSizeBytes,
              concurrency: options.settings.s3PartConcurrency ?? 1,
              stallTimeoutMs: options.settings.stallTimeoutMs,
              requestTimeoutMs: options.settings.requestTimeoutMs,
              connectTimeoutMs: options.settings.connectTimeoutMs,
              limiter,
            },
            this.logger,
            // After each completed upload, the processing server (when there is one) is asked
            // to process the object (POST /process-object); the task's history shows how it went.
            options.settings.apiUrl === NO_SERVER_URL
              ? undefined
              : {
                  http: this.targets.own,
                  serverUrl: options.settings.apiUrl,
                  settings: options.settings,
                  note: (taskId, message) => {
                    const record = this.moves.note(taskId, message);
                    this.emit('changed', this.withObject(toTask(record)));
                  },
                },
          );
    this.moves = new TaskMoves(this.repo, this.logger, (view) => {
      const task = this.withObject(view);
      this.s3?.afterMove(task);
      this.emit('state', task);
      if (isFinished(task.state)) this.settle(task);
    });
    const pipeline = new AttemptPipeline({
      moves: this.moves,
      settings: this.settings,
      targets: this.targets,
      limiter,
      logger: this.logger,
      emitProgress: (progress) => this.emit('progress', progress),
      s3: this.s3,
      parts: this.parts,
      openParts: this.openParts,
    });
    this.scheduler = new UploadScheduler({
      repo: this.repo,
      concurrency: this.settings.concurrency,
      leaseMs: this.settings.leaseMs ?? DEFAULT_LEASE_MS,
      logger: this.logger,
      runAttempt: (taskId, run) => pipeline.run(taskId, run),
      onFinishedElsewhere: (task) => this.settle(task),
    });
  }

  /** Starts the workers and picks up every unfinished task (after a crash or restart). */
  start(): void {
    if (this.closed) return;
    this.scheduler.start();
    this.s3?.start();
  }

  /** Stops the workers; running uploads are interrupted and stay resumable for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.scheduler.close();
    for (const [id, list] of this.waiters) {
      for (const waiter of list) {
        waiter.reject(new AppError('UPLOAD_CANCELLED', `the upload service closed before ${id} finished`));
      }
    }
    this.waiters.clear();
    await this.s3?.close();
    await this.targets.close();
  }

  /**
   * Queues a file and returns its task at once; the upload runs in the background. A file that
   * already has an unfinished task (same path, size and mtime) gets that task back, resumed,
   * with the new `sessionName`/`autoProcess` unless the server already holds its metadata
   * (then `optionsNotice` says they were kept; see `reenqueueOutcome`).
   * Problems with the file fail the task (FILE_NOT_FOUND, EMPTY_FILE, …) rather than throw,
   * unless `requireFile` is set: then a missing file, an empty file or a folder is refused
   * at once (that AppError is thrown) and no task is left behind.
   * The task goes to this service's server (VULTR_API_URL) with its protocol setting, both
   * recorded in the task. `knownComplete` skips the growth check: for a file the caller knows
   * is finished (a recording the recorder has just closed).
   */
  async enqueue(filePath: string, options: EnqueueOptions = {}): Promise<EnqueuedTask> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the upload service is closed');
    const absolute = path.resolve(filePath);
    let fingerprint = { size: 0, mtimeMs: 0 };
    if (options.requireFile === true) {
      fingerprint = await statUploadable(absolute);
    } else {
      try {
        const info = await stat(absolute);
        fingerprint = { size: info.size, mtimeMs: info.mtimeMs };
      } catch {
        // Reported by validation, as the task's failure.
      }
    }
    const existing = this.repo.findUnfinishedForFile(
      absolute,
      fingerprint.size,
      fingerprint.mtimeMs,
      FINISHED_STATES,
    );
    if (existing) {
      let optionsNotice: string | null = null;
      const record = this.repo.updateWith(existing.id, new Date().toISOString(), (current) => {
        const outcome = reenqueueOutcome(current, options, (r) => this.scheduler.heldElsewhere(r));
        optionsNotice = outcome.notice;
        return outcome;
      });
      const task = toTask(record);
      if (optionsNotice !== null) this.logger.warn({ taskId: task.id }, optionsNotice);
      this.scheduler.schedule(task);
      return { ...task, optionsNotice };
    }
    const now = new Date().toISOString();
    const record = this.repo.insert(
      newQueuedTask(
        {
          filePath: absolute,
          fileName: path.basename(absolute),
          fileSize: fingerprint.size,
          fileMtimeMs: fingerprint.mtimeMs,
          sessionName: options.sessionName ?? null,
          recordingId: options.recordingId ?? null,
          autoProcess: options.autoProcess ?? true,
          ...recordedTarget(this.settings),
          knownComplete: options.knownComplete === true,
        },
        now,
      ),
      'enqueued',
    );
    const task = toTask(record);
    this.logger.info({ taskId: task.id, file: absolute }, 'upload enqueued');
    this.emit('state', task);
    this.scheduler.schedule(task);
    return { ...task, optionsNotice: null };
  }

  get(taskId: string): UploadTask | undefined {
    const record = this.repo.get(taskId);
    return record ? this.withObject(toTask(record)) : undefined;
  }

  /**
   * An S3 task's state in the bucket, and its object (bucket, key, ETag, manifest) once
   * completed; a recording's parts.
   */
  private withObject(task: UploadTask): UploadTask {
    return withParts(this.parts, this.s3 ? this.s3.decorate(task) : task);
  }

  /**
   * Segmented recordings (CONTRACTS.md): opens the recording's ONE task and returns its id.
   * Parts follow with `addRecordingPart`, the count with `closeRecordingUpload`.
   */
  openRecordingUpload(options: OpenRecordingOptions): Promise<string> {
    if (this.closed) return Promise.reject(new AppError('INVALID_STATE', 'the upload service is closed'));
    const record = this.desk.open(options);
    const task = this.withObject(toTask(record));
    this.logger.info({ taskId: task.id, recordingId: options.recordingId }, 'recording upload opened');
    this.emit('state', task);
    return Promise.resolve(task.id);
  }

  /**
   * A closed part of the recording: stored in the task store and sent at once (after the parts
   * before it). A part index handed again (after a restart) is ignored. Throws TASK_NOT_FOUND,
   * FILE_NOT_FOUND, EMPTY_FILE.
   */
  addRecordingPart(taskId: string, part: { index: number; filePath: string }): void {
    if (this.desk.add(taskId, part)) this.logger.debug({ taskId, index: part.index }, 'recording part added');
    this.wake(taskId);
  }

  /**
   * The recorder opened part `index` and writes it append-only (RecorderEvents `segment-open`):
   * it is sent while it grows (tus, deferred length), so after Stop only its last bytes are
   * left. The same part is still handed with `addRecordingPart` once closed. Throws
   * TASK_NOT_FOUND or INVALID_STATE (a completed task) as `addRecordingPart` does.
   */
  growRecordingPart(taskId: string, part: OpenPart): void {
    this.desk.assertOpen(taskId);
    const known = this.openParts.get(taskId);
    if (known && known.index >= part.index) return;
    this.openParts.set(taskId, { index: part.index, filePath: path.resolve(part.filePath) });
    this.logger.debug({ taskId, index: part.index }, 'recording part opened');
    this.wake(taskId);
  }

  /**
   * The recording stopped after `count` parts; `joinedFilePath` is its local joined file (sent
   * instead of the parts when the target takes none). May be called again to add the file.
   */
  closeRecordingUpload(taskId: string, options: { count: number; joinedFilePath?: string }): void {
    this.desk.close(taskId, options);
    this.logger.info({ taskId, parts: options.count }, 'recording upload closed');
    this.wake(taskId);
  }

  /**
   * Has the task run (again, once the running attempt ended). No `state` event: the state did
   * not change (listeners count moves, e.g. retries in the metrics); the parts show in the view.
   */
  private wake(taskId: string): void {
    const task = this.get(taskId);
    if (task) this.scheduler.schedule(task);
  }

  /** Most recent first. */
  list(limit = 10): UploadTask[] {
    return this.repo.list(Math.max(1, Math.min(limit, 1000))).map((r) => this.withObject(toTask(r)));
  }

  /** Every state the task went through, with when and why, oldest first. */
  history(taskId: string): Array<{ at: string; state: UploadState; message: string | null }> {
    return this.repo
      .events(taskId)
      .map((e) => ({ at: e.at, state: isUploadState(e.state) ? e.state : 'failed', message: e.message }));
  }

  /** Stops a task for good (until `retry`); the local file is kept, the server's partial upload freed. */
  cancel(taskId: string): UploadTask {
    const task = this.require(taskId);
    if (task.state === 'cancelled') return task;
    if (!canMove(task.state, 'cancelled')) {
      throw new AppError(
        'INVALID_STATE',
        `${taskId} is ${task.state}; only an unfinished task can be cancelled`,
      );
    }
    const run = this.scheduler.runningAttempt(taskId);
    if (run) this.scheduler.stop(run, 'cancel');
    this.scheduler.unschedule(taskId);
    // A recording sent in parts: the part on its way has the partial upload.
    const partial =
      task.remoteUrl !== null && task.protocol === 'tus'
        ? task.remoteUrl
        : task.parts
          ? this.desk.takePartial(taskId)
          : null;
    // The partial upload is deleted on the server, and forgotten here in the same write, so
    // a Retry says it starts a new upload instead of "the server dropped the partial upload".
    const cancelled = this.moves.move(
      taskId,
      'cancelled',
      partial === null
        ? 'cancelled by user'
        : 'cancelled by user; its partial upload is deleted from the server',
      partial === null || task.parts ? { nextAttemptAt: null } : { nextAttemptAt: null, remoteUrl: null },
    );
    if (partial !== null) {
      const url = partial;
      const target = this.targets.of(this.repo.get(taskId) ?? { targetUrl: null, targetProtocol: null });
      const tus = transportFor('tus', target.http, target.settings, undefined);
      void (run?.done ?? Promise.resolve()).then(() => tus.terminate(url));
    }
    if (task.remoteUrl !== null && task.protocol === 's3') this.s3?.abandon(task.remoteUrl, run?.done);
    return cancelled;
  }

  /** Puts a failed or cancelled task back in the queue with a fresh count of attempts. */
  retry(taskId: string): UploadTask {
    const task = this.require(taskId);
    if (task.state !== 'failed' && task.state !== 'cancelled') {
      throw new AppError(
        'INVALID_STATE',
        `${taskId} is ${task.state}; only a failed or cancelled task can be retried`,
      );
    }
    const queued = this.moves.move(taskId, 'queued', 'queued again by retry', {
      attempts: 0,
      nextAttemptAt: null,
    });
    this.scheduler.schedule(queued);
    return queued;
  }

  /** Resolves when the task is completed, failed or cancelled. */
  waitFor(taskId: string): Promise<UploadTask> {
    const task = this.require(taskId);
    if (isFinished(task.state)) return Promise.resolve(task);
    if (this.closed) return Promise.reject(new AppError('UPLOAD_CANCELLED', 'the upload service is closed'));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(taskId) ?? [];
      list.push({ resolve, reject });
      this.waiters.set(taskId, list);
    });
  }

  /** The server's `/status/<task_id>` body, or undefined when the server does not know the task. */
  async remoteStatus(taskId: string): Promise<unknown | undefined> {
    this.require(taskId);
    const record = this.repo.get(taskId);
    const { http } = this.targets.of(record ?? { targetUrl: null, targetProtocol: null });
    return (await fetchRemoteStatus(http, taskId))?.body;
  }

  private require(taskId: string): UploadTask {
    const task = this.get(taskId);
    if (!task) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId}`);
    return task;
  }

  private settle(task: UploadTask): void {
    this.openParts.delete(task.id);
    const list = this.waiters.get(task.id);
    if (!list) return;
    this.waiters.delete(task.id);
    for (const waiter of list) waiter.resolve(task);
  }
}

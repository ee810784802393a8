import { EventEmitter } from 'node:events';
import { rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { UploadTaskRepository, type Db, type UploadTaskRecord } from '../store/index.js';
import { compressFile } from './compress-file.js';
import {
  assertMediaFile,
  assertNotGrowing,
  sha256File,
  statUploadable,
  type FileFingerprint,
} from './file-checks.js';
import { UploadHttpClient } from './http-client.js';
import { MultipartTransport } from './multipart-transport.js';
import { ProgressMeter } from './progress-meter.js';
import { RateLimiter } from './rate-limiter.js';
import { isRetryable, retryDelayMs } from './retry-policy.js';
import { fetchRemoteStatus, probeServer } from './server-api.js';
import { newTaskId } from './task-id.js';
import { S3Transport } from './s3-transport.js';
import type { Transport, TransportResult } from './transport.js';
import { TusTransport } from './tus-transport.js';
import {
  FINISHED_STATES,
  UNFINISHED_STATES,
  canMove,
  isFinished,
  isUploadState,
} from './upload-state-machine.js';
import type {
  EnqueuedTask,
  UploadServiceEvents,
  UploadSettings,
  UploadState,
  UploadTask,
} from './upload-types.js';

/** Why a running attempt was stopped from outside. */
type StopReason = 'cancel' | 'close';

interface Running {
  controller: AbortController;
  stop: StopReason | undefined;
  done: Promise<void>;
}

/** Thrown inside a worker when the task was moved elsewhere (e.g. cancelled by another process). */
class TaskMovedAway extends Error {}

/** Owners ("host:pid:instance") of the services alive in this process. */
const liveOwners = new Set<string>();
const thisHost = hostname();

function ownerIsAlive(owner: string): boolean {
  const [host, pid] = owner.split(':');
  if (host !== thisHost) return true; // Cannot check another machine: assume it still works.
  if (Number(pid) === process.pid) return liveOwners.has(owner);
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function toTask(record: UploadTaskRecord): UploadTask {
  const state = isUploadState(record.state) ? record.state : 'failed';
  const protocol =
    record.protocol === 'tus' || record.protocol === 'multipart' || record.protocol === 's3'
      ? record.protocol
      : null;
  return {
    id: record.id,
    filePath: record.filePath,
    fileName: record.fileName,
    sessionName: record.sessionName,
    recordingId: record.recordingId,
    autoProcess: record.autoProcess,
    state,
    attempts: record.attempts,
    nextAttemptAt: record.nextAttemptAt,
    bytesSent: record.bytesSent,
    size: record.size,
    sha256: record.sha256,
    protocol,
    remoteUrl: record.remoteUrl,
    lastError:
      record.lastErrorCode === null
        ? null
        : { code: record.lastErrorCode, message: record.lastErrorMessage ?? '' },
    compressionRatio: record.compressionRatio,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    completedAt: record.completedAt,
  };
}

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
  const sending =
    current.state === 'uploading' && current.leaseOwner !== null && ownerIsAlive(current.leaseOwner);
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

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

/**
 * The station's upload service: a durable queue in SQLite, workers that validate, hash,
 * optionally compress and upload each file (tus when the server offers it, else multipart),
 * retry temporary failures with backoff, and complete a task only when the server confirms
 * the same sha256. Every state change is written to the task's history.
 */
export class UploadService extends EventEmitter<UploadServiceEvents> {
  private readonly repo: UploadTaskRepository;
  private readonly settings: UploadSettings;
  private readonly logger: Logger;
  private readonly http: UploadHttpClient;
  private readonly limiter: RateLimiter | undefined;
  /** UPLOAD_TARGET=s3: every task goes into the bucket. */
  private readonly s3: S3Transport | undefined;
  private readonly owner = `${thisHost}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, Running>();
  private readonly queue: string[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly waiters = new Map<
    string,
    Array<{ resolve: (task: UploadTask) => void; reject: (e: unknown) => void }>
  >();
  /** Tasks another live process holds: watched until they finish or are let go. */
  private readonly foreign = new Set<string>();
  private foreignTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(options: { db: Db; settings: UploadSettings; logger?: Logger }) {
    super();
    this.repo = new UploadTaskRepository(options.db);
    this.settings = options.settings;
    this.logger = (options.logger ?? silentLogger()).child({ part: 'uploads' });
    this.http = new UploadHttpClient(options.settings);
    this.limiter =
      options.settings.maxRateBytesPerSecond === undefined
        ? undefined
        : new RateLimiter(options.settings.maxRateBytesPerSecond);
    this.s3 =
      options.settings.s3 === undefined
        ? undefined
        : new S3Transport({
            db: options.db,
            s3: options.settings.s3,
            partSizeBytes: options.settings.chunkSizeBytes,
            concurrency: options.settings.s3PartConcurrency ?? 1,
            stallTimeoutMs: options.settings.stallTimeoutMs,
            requestTimeoutMs: options.settings.requestTimeoutMs,
            connectTimeoutMs: options.settings.connectTimeoutMs,
            limiter: this.limiter,
          });
  }

  /** Starts the workers and picks up every unfinished task (after a crash or restart). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    liveOwners.add(this.owner);
    for (const record of this.repo.listInStates(UNFINISHED_STATES)) this.schedule(toTask(record));
  }

  /** Stops the workers; running uploads are interrupted and stay resumable for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    clearInterval(this.foreignTimer);
    this.queue.length = 0;
    for (const run of this.running.values()) {
      run.stop ??= 'close';
      run.controller.abort(new AppError('UPLOAD_CANCELLED', 'the upload service is closing'));
    }
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    liveOwners.delete(this.owner);
    for (const [id, list] of this.waiters) {
      for (const waiter of list) {
        waiter.reject(new AppError('UPLOAD_CANCELLED', `the upload service closed before ${id} finished`));
      }
    }
    this.waiters.clear();
    this.s3?.close();
    await this.http.close();
  }

  /**
   * Queues a file and returns its task at once; the upload runs in the background. A file that
   * already has an unfinished task (same path, size and mtime) gets that task back, resumed,
   * with the new `sessionName`/`autoProcess` unless the server already holds its metadata
   * (then `optionsNotice` says they were kept; see `reenqueueOutcome`).
   * Problems with the file fail the task (FILE_NOT_FOUND, EMPTY_FILE, …) rather than throw.
   */
  async enqueue(
    filePath: string,
    options: { sessionName?: string; recordingId?: string; autoProcess?: boolean } = {},
  ): Promise<EnqueuedTask> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the upload service is closed');
    const absolute = path.resolve(filePath);
    let fingerprint = { size: 0, mtimeMs: 0 };
    try {
      const info = await stat(absolute);
      fingerprint = { size: info.size, mtimeMs: info.mtimeMs };
    } catch {
      // Reported by validation, as the task's failure.
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
        const outcome = reenqueueOutcome(current, options);
        optionsNotice = outcome.notice;
        return outcome;
      });
      const task = toTask(record);
      if (optionsNotice !== null) this.logger.warn({ taskId: task.id }, optionsNotice);
      if (this.started) this.schedule(task);
      return { ...task, optionsNotice };
    }
    const now = new Date().toISOString();
    const record = this.repo.insert(
      {
        id: newTaskId(),
        filePath: absolute,
        fileName: path.basename(absolute),
        fileSize: fingerprint.size,
        fileMtimeMs: fingerprint.mtimeMs,
        sessionName: options.sessionName ?? null,
        recordingId: options.recordingId ?? null,
        autoProcess: options.autoProcess ?? true,
        state: 'queued',
        attempts: 0,
        nextAttemptAt: null,
        bytesSent: 0,
        size: fingerprint.size,
        sha256: null,
        protocol: null,
        remoteUrl: null,
        uploadPath: null,
        compressionRatio: null,
        lastErrorCode: null,
        lastErrorMessage: null,
        leaseOwner: null,
        createdAt: now,
        completedAt: null,
      },
      'enqueued',
    );
    const task = toTask(record);
    this.logger.info({ taskId: task.id, file: absolute }, 'upload enqueued');
    this.emit('state', task);
    if (this.started) this.schedule(task);
    return { ...task, optionsNotice: null };
  }

  get(taskId: string): UploadTask | undefined {
    const record = this.repo.get(taskId);
    return record ? this.withObject(toTask(record)) : undefined;
  }

  /** An S3 task's object (bucket, key, ETag, manifest) once completed. */
  private withObject(task: UploadTask): UploadTask {
    const object =
      task.protocol === 's3' && task.state === 'completed' ? this.s3?.storedObject(task.id) : undefined;
    return object ? { ...task, object } : task;
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
    const run = this.running.get(taskId);
    if (run) {
      run.stop = 'cancel';
      run.controller.abort(new AppError('UPLOAD_CANCELLED', 'cancelled'));
    }
    this.unschedule(taskId);
    const cancelled = this.move(taskId, 'cancelled', 'cancelled by user', { nextAttemptAt: null });
    if (task.remoteUrl !== null && task.protocol === 'tus') {
      const url = task.remoteUrl;
      void (run?.done ?? Promise.resolve()).then(() => this.transportFor('tus', '/files/').terminate(url));
    }
    if (task.remoteUrl !== null && task.protocol === 's3') this.abortS3(task.remoteUrl, run?.done);
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
    const queued = this.move(taskId, 'queued', 'queued again by retry', { attempts: 0, nextAttemptAt: null });
    if (this.started) this.schedule(queued);
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
    return (await fetchRemoteStatus(this.http, taskId))?.body;
  }

  // --- scheduling -------------------------------------------------------------------------

  private require(taskId: string): UploadTask {
    const task = this.get(taskId);
    if (!task) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId}`);
    return task;
  }

  private schedule(task: UploadTask): void {
    if (this.closed || isFinished(task.state) || this.running.has(task.id) || this.queue.includes(task.id))
      return;
    if (this.timers.has(task.id)) return;
    const due =
      task.state === 'retry_wait' && task.nextAttemptAt ? Date.parse(task.nextAttemptAt) - Date.now() : 0;
    if (due > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(task.id);
        this.queue.push(task.id);
        this.pump();
      }, due);
      this.timers.set(task.id, timer);
      return;
    }
    this.queue.push(task.id);
    this.pump();
  }

  private unschedule(taskId: string): void {
    clearTimeout(this.timers.get(taskId));
    this.timers.delete(taskId);
    const index = this.queue.indexOf(taskId);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.settings.concurrency && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const task = this.get(id);
      if (!task || isFinished(task.state)) continue;
      if (!this.repo.claim(id, this.owner, ownerIsAlive)) {
        this.watchForeign(id);
        continue;
      }
      const controller = new AbortController();
      const run: Running = { controller, stop: undefined, done: Promise.resolve() };
      this.running.set(id, run);
      run.done = this.attempt(id, run)
        .catch((error: unknown) => this.logger.error({ err: error, taskId: id }, 'upload worker failed'))
        .finally(() => {
          this.running.delete(id);
          this.repo.release(id, this.owner);
          // A retry is scheduled only now: while the attempt ran, the task counted as running.
          const after = this.get(id);
          if (after?.state === 'retry_wait') this.schedule(after);
          this.pump();
        });
    }
  }

  /** Polls tasks held by another live process, so waitFor resolves and orphans are adopted. */
  private watchForeign(taskId: string): void {
    this.foreign.add(taskId);
    if (this.foreignTimer) return;
    this.foreignTimer = setInterval(() => {
      for (const id of [...this.foreign]) {
        const record = this.repo.get(id);
        if (!record) {
          this.foreign.delete(id);
          continue;
        }
        const task = toTask(record);
        if (isFinished(task.state)) {
          this.foreign.delete(id);
          this.settle(task);
        } else if (record.leaseOwner === null || !ownerIsAlive(record.leaseOwner)) {
          this.foreign.delete(id);
          this.schedule(task);
        }
      }
      if (this.foreign.size === 0) {
        clearInterval(this.foreignTimer);
        this.foreignTimer = undefined;
      }
    }, 1000);
  }

  // --- state changes ----------------------------------------------------------------------

  /** Moves a task to a new state (checked against the state machine), with a history line. */
  private move(
    taskId: string,
    to: UploadState,
    message: string | null,
    changes: Partial<Omit<UploadTaskRecord, 'id' | 'state'>> = {},
  ): UploadTask {
    const current = this.require(taskId);
    if (!canMove(current.state, to)) {
      throw new TaskMovedAway(`${taskId}: ${current.state} → ${to} is not allowed`);
    }
    const record = this.repo.update(taskId, { ...changes, state: to }, new Date().toISOString(), {
      state: to,
      message,
    });
    const task = this.withObject(toTask(record));
    this.logger.info({ taskId, state: to, message }, 'upload state');
    this.emit('state', task);
    if (isFinished(to)) this.settle(task);
    return task;
  }

  /** Cancel or giving up: abort the multipart upload (after the attempt stopped), nothing left billed. */
  private abortS3(remoteUrl: string, after: Promise<void> = Promise.resolve()): void {
    const s3 = this.s3;
    if (!s3) return;
    void after
      .then(() => s3.terminate(remoteUrl))
      .then(
        () => this.logger.info({ remoteUrl }, 'multipart upload aborted'),
        (error: unknown) =>
          this.logger.warn({ err: error, remoteUrl }, 'could not abort the multipart upload'),
      );
  }

  private settle(task: UploadTask): void {
    const list = this.waiters.get(task.id);
    if (!list) return;
    this.waiters.delete(task.id);
    for (const waiter of list) waiter.resolve(task);
  }

  private transportFor(protocol: 'tus' | 'multipart', tusEndpoint: string): Transport {
    const common = {
      stallTimeoutMs: this.settings.stallTimeoutMs,
      requestTimeoutMs: this.settings.requestTimeoutMs,
      limiter: this.limiter,
    };
    return protocol === 'tus'
      ? new TusTransport(this.http, {
          ...common,
          endpoint: tusEndpoint,
          chunkSizeBytes: this.settings.chunkSizeBytes,
        })
      : new MultipartTransport(this.http, { ...common, endpoint: this.settings.endpoint });
  }

  // --- one attempt ------------------------------------------------------------------------

  private async attempt(taskId: string, run: Running): Promise<void> {
    const signal = run.controller.signal;
    const start = this.require(taskId);
    const attempt = start.attempts + 1;
    try {
      this.move(
        taskId,
        'validating',
        attempt === 1 ? 'validating the file' : `attempt ${attempt}: validating the file`,
        {
          attempts: attempt,
          nextAttemptAt: null,
        },
      );
      const prepared = await this.prepare(taskId, signal);
      await this.send(taskId, prepared, attempt, signal);
    } catch (error) {
      if (run.stop === 'cancel' || error instanceof TaskMovedAway) return;
      if (run.stop === 'close') {
        const task = this.get(taskId);
        if (task && !isFinished(task.state)) {
          this.repo.update(taskId, {}, new Date().toISOString(), {
            state: task.state,
            message: 'interrupted: the service stopped; resumes on the next start',
          });
        }
        return;
      }
      this.failOrRetry(taskId, attempt, error);
    }
  }

  private failOrRetry(taskId: string, attempt: number, error: unknown): void {
    const appError = isAppError(error)
      ? error
      : new AppError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
    if (!isAppError(error)) this.logger.error({ err: error, taskId }, 'unexpected upload error');
    const lastError = { lastErrorCode: appError.code, lastErrorMessage: appError.message };
    const retriesLeft = this.settings.retries - (attempt - 1);
    try {
      if (isRetryable(appError) && retriesLeft > 0) {
        const delay = retryDelayMs(appError, attempt, this.settings);
        this.move(
          taskId,
          'retry_wait',
          `${appError.code}: ${appError.message}; retry ${attempt} of ${this.settings.retries} in ${seconds(delay)}`,
          { ...lastError, nextAttemptAt: new Date(Date.now() + delay).toISOString() },
        );
      } else {
        const why = isRetryable(appError) ? ` (gave up after ${attempt} attempts)` : '';
        const failed = this.move(taskId, 'failed', `${appError.code}: ${appError.message}${why}`, lastError);
        if (failed.remoteUrl !== null && failed.protocol === 's3') this.abortS3(failed.remoteUrl);
      }
    } catch (moveError) {
      if (!(moveError instanceof TaskMovedAway)) throw moveError;
    }
  }

  /**
   * Validation, hashing and compression. The content is pinned when its sha256 is computed:
   * from then on any change of size or mtime is FILE_CHANGED (the digest would no longer match
   * what is sent). Before that, a file that changed while queued is noticed, and uploaded as it
   * is once it stops changing (a recording may still have been finalised when it was queued);
   * the history says so.
   */
  private async prepare(
    taskId: string,
    signal: AbortSignal,
  ): Promise<{ path: string; size: number; sha256: string }> {
    let task = this.require(taskId);
    const record = this.repo.get(taskId) as UploadTaskRecord;
    const fingerprint = await statUploadable(task.filePath);
    const differs = (a: FileFingerprint, b: FileFingerprint): boolean =>
      a.size !== b.size || a.mtimeMs !== b.mtimeMs;
    const pinned = { size: record.fileSize, mtimeMs: record.fileMtimeMs };

    if (task.sha256 !== null) {
      if (differs(fingerprint, pinned)) {
        throw new AppError(
          'FILE_CHANGED',
          `${task.filePath} changed after it was checked and hashed (${pinned.size} → ${fingerprint.size} bytes); enqueue it again to upload the new content`,
        );
      }
      const copyReady =
        record.uploadPath === null ||
        (await stat(record.uploadPath).then(
          (s) => s.size === task.size,
          () => false,
        ));
      if (copyReady)
        return { path: record.uploadPath ?? task.filePath, size: task.size, sha256: task.sha256 };
    }

    await assertNotGrowing(task.filePath, fingerprint, this.settings.growthCheckMs, signal);
    await assertMediaFile(task.filePath, signal);
    if (task.sha256 === null && differs(fingerprint, pinned)) {
      this.logger.warn({ taskId, before: pinned, now: fingerprint }, 'file changed while queued');
      this.repo.update(
        taskId,
        { fileSize: fingerprint.size, fileMtimeMs: fingerprint.mtimeMs, size: fingerprint.size },
        new Date().toISOString(),
        {
          state: 'validating',
          message: `the file changed while queued (${pinned.size} → ${fingerprint.size} bytes); uploading it as it is now`,
        },
      );
    }

    if (this.settings.compress !== 'none') {
      task = this.move(taskId, 'compressing', `compressing with ${this.settings.compress}`);
      if (record.remoteUrl !== null && record.protocol === 'tus') {
        // A new copy may differ byte for byte: the old partial upload is useless.
        await this.transportFor('tus', '/files/').terminate(record.remoteUrl);
      }
      const copy = await compressFile(
        task.filePath,
        this.settings.compress,
        this.settings.tempDir,
        taskId,
        signal,
      );
      const sha256 = await sha256File(copy.path, signal);
      await this.assertUnchangedSince(task.filePath, fingerprint);
      this.repo.update(
        taskId,
        {
          uploadPath: copy.path,
          size: copy.size,
          sha256,
          compressionRatio: copy.ratio,
          remoteUrl: null,
          bytesSent: 0,
        },
        new Date().toISOString(),
        {
          state: 'compressing',
          message: `compressed to ${copy.size} bytes (ratio ${copy.ratio.toFixed(3)}), original kept`,
        },
      );
      return { path: copy.path, size: copy.size, sha256 };
    }

    const sha256 = await sha256File(task.filePath, signal);
    await this.assertUnchangedSince(task.filePath, fingerprint);
    this.repo.update(taskId, { sha256, size: fingerprint.size }, new Date().toISOString());
    return { path: task.filePath, size: fingerprint.size, sha256 };
  }

  /** A file that changed while it was being hashed or compressed is still being written. */
  private async assertUnchangedSince(filePath: string, before: FileFingerprint): Promise<void> {
    const after = await statUploadable(filePath);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
      throw new AppError(
        'FILE_STILL_GROWING',
        `${filePath} changed while it was being checked (${before.size} → ${after.size} bytes); it will be tried again`,
      );
    }
  }

  private async send(
    taskId: string,
    file: { path: string; size: number; sha256: string },
    attempt: number,
    signal: AbortSignal,
  ): Promise<void> {
    let tusEndpoint = '/files/';
    let protocol: 'tus' | 'multipart' | 's3' =
      this.s3 !== undefined ? 's3' : this.settings.protocol === 'tus' ? 'tus' : 'multipart';
    if (protocol !== 's3' && this.settings.protocol !== 'multipart') {
      const capabilities = await probeServer(this.http, signal);
      if (capabilities.tusEndpoint !== undefined) tusEndpoint = capabilities.tusEndpoint;
      if (this.settings.protocol === 'auto')
        protocol = capabilities.tusEndpoint !== undefined ? 'tus' : 'multipart';
      if (capabilities.maxUploadBytes !== undefined && file.size > capabilities.maxUploadBytes) {
        throw new AppError(
          'PAYLOAD_TOO_LARGE',
          `the file (${file.size} bytes) is larger than the server accepts (${capabilities.maxUploadBytes}); raise its limit or compress it (VULTR_COMPRESS=h264)`,
        );
      }
    }
    const before = this.require(taskId);
    const remoteUrl = before.protocol === protocol ? before.remoteUrl : null;
    // The options sent are read in the same write that marks the task `uploading`: from then on
    // a re-enqueue from another process keeps them instead of changing what the server got.
    const uploading = this.move(
      taskId,
      'uploading',
      `uploading via ${protocol}${remoteUrl ? ` (resuming ${remoteUrl})` : ''}${attempt > 1 ? `, attempt ${attempt}` : ''}`,
      { protocol, remoteUrl },
    );

    const meter = new ProgressMeter();
    let confirmed = 0;
    let inflight = 0;
    let lastEmit = 0;
    let lastSaved = 0;
    const report = (force: boolean): void => {
      const now = performance.now();
      const bytes = Math.min(file.size, confirmed + inflight);
      meter.add(bytes, now);
      if (!force && now - lastEmit < 200) return;
      lastEmit = now;
      if (force || now - lastSaved > 1000) {
        lastSaved = now;
        this.repo.update(taskId, { bytesSent: bytes }, new Date().toISOString());
      }
      this.emit('progress', {
        taskId,
        state: 'uploading',
        bytesSent: bytes,
        totalBytes: file.size,
        rateBytesPerSecond: Math.round(meter.rate()),
        etaSeconds: meter.eta(bytes, file.size),
      });
    };
    const transport = protocol === 's3' ? (this.s3 as S3Transport) : this.transportFor(protocol, tusEndpoint);
    const result: TransportResult = await transport.upload({
      taskId,
      filePath: file.path,
      fileName: before.fileName,
      size: file.size,
      sha256: file.sha256,
      sessionName: uploading.sessionName,
      autoProcess: uploading.autoProcess,
      recordingId: uploading.recordingId,
      remoteUrl,
      signal,
      onRemoteUrl: (url) => {
        this.repo.update(taskId, { remoteUrl: url }, new Date().toISOString(), {
          state: 'uploading',
          message: url === null ? 'the server dropped the partial upload' : `upload created at ${url}`,
        });
      },
      onConfirmed: (bytes) => {
        confirmed = bytes;
        inflight = 0;
        report(true);
      },
      onBytes: (bytes) => {
        inflight += bytes;
        report(false);
      },
      onNote: (message) =>
        this.repo.update(taskId, {}, new Date().toISOString(), { state: 'uploading', message }),
    });

    const original = this.repo.get(taskId) as UploadTaskRecord;
    const now = await statUploadable(original.filePath);
    if (now.size !== original.fileSize || now.mtimeMs !== original.fileMtimeMs) {
      throw new AppError(
        'FILE_CHANGED',
        `${original.filePath} changed while it was being uploaded; enqueue it again`,
      );
    }
    const confirmation = await this.confirm(taskId, protocol, file.sha256, result, signal);
    const task = this.move(taskId, 'completed', confirmation, {
      bytesSent: file.size,
      completedAt: new Date().toISOString(),
      nextAttemptAt: null,
    });
    if (original.uploadPath !== null) await rm(original.uploadPath, { force: true });
    this.logger.info({ taskId, sha256: task.sha256 }, 'upload completed');
  }

  /** Waits for the server to report the same sha256; returns the history line for completion. */
  private async confirm(
    taskId: string,
    protocol: 'tus' | 'multipart' | 's3',
    sha256: string,
    result: TransportResult,
    signal: AbortSignal,
  ): Promise<string> {
    const mismatch = (theirs: string): AppError =>
      new AppError(
        'CHECKSUM_MISMATCH',
        `the server holds a file whose sha256 is ${theirs}, not ${sha256}; upload it again (streamai upload)`,
      );
    if (result.serverSha256 !== null) {
      if (result.serverSha256 !== sha256) throw mismatch(result.serverSha256);
      return result.confirmation ?? `server confirmed sha256 ${sha256}`;
    }
    const deadline = Date.now() + this.settings.confirmTimeoutMs;
    let delay = 100;
    for (;;) {
      let status;
      try {
        status = await fetchRemoteStatus(this.http, taskId, signal);
      } catch (error) {
        if (protocol === 'multipart' && isAppError(error) && error.code === 'UPLOAD_FAILED')
          status = undefined;
        else throw error;
      }
      if (status === undefined && protocol === 'multipart') {
        // An older server: it accepted the upload but has no /status and reported no digest.
        return 'server accepted the upload (it reports no sha256 to confirm; older server)';
      }
      if (status?.sha256 !== undefined && status.sha256 !== sha256) throw mismatch(status.sha256);
      if (status?.state === 'failed') {
        throw new AppError(
          'UPLOAD_FAILED',
          'the server marked the upload as failed; see streamai upload-status',
        );
      }
      if (status?.sha256 === sha256 && status.state !== 'receiving')
        return `server confirmed sha256 ${sha256}`;
      if (Date.now() > deadline) {
        throw new AppError(
          'SERVER_ERROR',
          `the server did not confirm the upload's sha256 within ${seconds(this.settings.confirmTimeoutMs)}`,
        );
      }
      await sleep(delay, undefined, { signal });
      delay = Math.min(1000, delay * 2);
    }
  }
}

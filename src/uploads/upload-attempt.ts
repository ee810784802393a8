import { rm, stat } from 'node:fs/promises';
import { AppError, isAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { UploadPartRepository, UploadTaskRecord } from '../store/index.js';
import { compressFile } from './compress-file.js';
import { confirmUpload } from './confirm-upload.js';
import { assertMediaFile, assertNotGrowing, statUploadable, type FileFingerprint } from './file-checks.js';
import { PartAttempt } from './part-attempt.js';
import { ProgressMeter } from './progress-meter.js';
import type { RateLimiter } from './rate-limiter.js';
import type { S3Target } from './s3-target.js';
import { isRetryable, retryDelayMs } from './retry-policy.js';
import { probeServer } from './server-api.js';
import type { TargetClients, TaskTarget } from './target-clients.js';
import { TaskMovedAway, type TaskMoves } from './task-moves.js';
import { seconds, toTask } from './task-view.js';
import type { Transport, TransportJob } from './transport.js';
import { transportFor, type TransportProtocol } from './transports.js';
import type { OpenPart } from './recording-parts.js';
import type { RunningAttempt } from './upload-scheduler.js';
import { isFinished } from './upload-state-machine.js';
import type { UploadProgress, UploadSettings, UploadState, UploadTask } from './upload-types.js';

export interface AttemptDeps {
  moves: TaskMoves;
  settings: UploadSettings;
  targets: TargetClients;
  limiter: RateLimiter | undefined;
  logger: Logger;
  emitProgress: (progress: UploadProgress) => void;
  /** UPLOAD_TARGET=s3: every task goes into the bucket through this transport. */
  s3?: S3Target | undefined;
  /** Segmented recordings' parts (station v9): such a task runs the part flow (part-attempt.ts). */
  parts?: UploadPartRepository | undefined;
  /** The part each recording is writing now, by task id (sent while it grows). */
  openParts?: ReadonlyMap<string, OpenPart> | undefined;
}

/** The file as it will be sent: the original or its compressed copy, with its digest if an earlier attempt computed it. */
interface PreparedFile {
  path: string;
  size: number;
  sha256: string | null;
  /**
   * Resolves once the file showed it stopped growing (at once when that is known). The send
   * starts before; only the step that completes the upload on the server waits for it.
   */
  settled: Promise<void>;
}

const SETTLED = Promise.resolve();

/** Checks that run alongside the send and, when they fail, leave no partial upload on the server. */
const DROPPED_BECAUSE: Partial<Record<string, string>> = {
  FILE_STILL_GROWING: 'the file was still growing',
  NOT_A_MEDIA_FILE: 'the file is not a recording',
};

const differs = (a: FileFingerprint, b: FileFingerprint): boolean =>
  a.size !== b.size || a.mtimeMs !== b.mtimeMs;

/**
 * One attempt at one claimed task: validate → hash → (compress →) send → confirm, each step a
 * state move written through `TaskMoves` under the attempt's lease. A failure ends in
 * retry_wait (temporary, with backoff) or failed; a stop from outside (cancel, close) leaves
 * the task as the stopper wants it.
 */
export class AttemptPipeline {
  private readonly partFlow: PartAttempt | undefined;

  constructor(private readonly deps: AttemptDeps) {
    this.partFlow = deps.parts
      ? new PartAttempt({
          moves: deps.moves,
          parts: deps.parts,
          settings: deps.settings,
          targets: deps.targets,
          limiter: deps.limiter,
          logger: deps.logger,
          s3Target: deps.s3 !== undefined,
          openParts: deps.openParts ?? new Map(),
          move: (run, taskId, to, message, changes) => this.move(run, taskId, to, message, changes),
          note: (run, taskId, message, changes) => this.note(run, taskId, message, changes),
          progressHooks: (run, taskId, size, base, total) =>
            this.progressHooks(run, taskId, size, base, total),
        })
      : undefined;
  }

  async run(taskId: string, run: RunningAttempt): Promise<void> {
    const signal = run.controller.signal;
    let attempt = this.deps.moves.record(taskId).attempts + 1;
    const recording = this.deps.parts?.recording(taskId);
    try {
      if (recording && this.partFlow) {
        // A segmented recording: its parts, unless the target takes none and the joined file is there.
        const asFile = recording.mode === 'joined' && recording.joinedFilePath !== null;
        if (!asFile) {
          if (recording.mode === 'joined') return; // waits for Stop (closeRecordingUpload)
          const outcome = await this.partFlow.run(taskId, run, recording);
          if (outcome !== 'as-file') return;
        }
        attempt = this.deps.moves.record(taskId).attempts + 1;
      }
      this.move(
        run,
        taskId,
        'validating',
        attempt === 1 ? 'validating the file' : `attempt ${attempt}: validating the file`,
        {
          attempts: attempt,
          nextAttemptAt: null,
        },
      );
      const prepared = await this.prepare(run, taskId, signal);
      await this.send(run, taskId, prepared, attempt, signal);
    } catch (error) {
      if (run.stop === 'cancel' || run.stop === 'lost' || error instanceof TaskMovedAway) return;
      if (run.stop === 'close') {
        const task = toTask(this.deps.moves.record(taskId));
        if (!isFinished(task.state)) {
          this.note(run, taskId, 'interrupted: the service stopped; resumes on the next start');
        }
        return;
      }
      // The part flow keeps its count of attempts in the task (reset once a part is on the server).
      const tries = recording ? Math.max(1, this.deps.moves.record(taskId).attempts) : attempt;
      this.failOrRetry(run, taskId, tries, error);
    }
  }

  private move(
    run: RunningAttempt,
    taskId: string,
    to: UploadState,
    message: string | null,
    changes: Parameters<TaskMoves['move']>[3] = {},
  ): UploadTask {
    return this.deps.moves.move(taskId, to, message, changes, run.owner);
  }

  /**
   * A field change (and history line) under the lease. Once the task moved away (cancelled
   * by another process, lease taken over) nothing is written and the attempt is stopped.
   */
  private note(
    run: RunningAttempt,
    taskId: string,
    message: string | null,
    changes: Parameters<TaskMoves['note']>[2] = {},
  ): void {
    try {
      this.deps.moves.note(taskId, message, changes, run.owner);
    } catch (error) {
      if (!(error instanceof TaskMovedAway)) throw error;
      run.stop ??= 'lost';
      run.controller.abort(error);
    }
  }

  private failOrRetry(run: RunningAttempt, taskId: string, attempt: number, error: unknown): void {
    const { settings, logger } = this.deps;
    const appError = isAppError(error)
      ? error
      : new AppError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error), {
          cause: error,
        });
    if (!isAppError(error)) logger.error({ err: error, taskId }, 'unexpected upload error');
    const lastError = { lastErrorCode: appError.code, lastErrorMessage: appError.message };
    const retriesLeft = settings.retries - (attempt - 1);
    try {
      if (isRetryable(appError) && retriesLeft > 0) {
        const delay = retryDelayMs(appError, attempt, settings);
        this.move(
          run,
          taskId,
          'retry_wait',
          `${appError.code}: ${appError.message}; retry ${attempt} of ${settings.retries} in ${seconds(delay)}`,
          { ...lastError, nextAttemptAt: new Date(Date.now() + delay).toISOString() },
        );
      } else {
        const why = isRetryable(appError) ? ` (gave up after ${attempt} attempts)` : '';
        const failed = this.move(
          run,
          taskId,
          'failed',
          `${appError.code}: ${appError.message}${why}`,
          lastError,
        );
        // Giving up on an S3 upload aborts its multipart upload: nothing left billed in the bucket.
        if (failed.protocol === 's3' && failed.remoteUrl !== null) this.deps.s3?.abandon(failed.remoteUrl);
      }
    } catch (moveError) {
      if (!(moveError instanceof TaskMovedAway)) throw moveError;
    }
  }

  /**
   * Validation (and compression). No hashing pass: the digest is computed on the bytes as they
   * are sent (one pass over the file, see the transports). The content is pinned once an
   * earlier attempt left something that depends on it (a digest, a partial tus upload on the
   * server, a compressed copy): from then on any change of size or mtime is FILE_CHANGED.
   * Before that, a file that changed while queued is noticed, and uploaded as it is once it
   * stops changing (a recording may still have been finalised when it was queued); the
   * history says so. A file the enqueuer knows is complete skips the growth check.
   */
  private async prepare(run: RunningAttempt, taskId: string, signal: AbortSignal): Promise<PreparedFile> {
    const { settings, logger } = this.deps;
    const record = this.deps.moves.record(taskId);
    const fingerprint = await statUploadable(record.filePath);
    const pinned = { size: record.fileSize, mtimeMs: record.fileMtimeMs };
    const contentPinned = record.sha256 !== null || record.remoteUrl !== null || record.uploadPath !== null;

    if (contentPinned) {
      if (differs(fingerprint, pinned)) {
        throw new AppError(
          'FILE_CHANGED',
          `${record.filePath} changed after part of it was sent (${pinned.size} → ${fingerprint.size} bytes); enqueue it again to upload the new content`,
        );
      }
      const copyReady =
        record.uploadPath === null ||
        (await stat(record.uploadPath).then(
          (s) => s.size === record.size,
          () => false,
        ));
      if (copyReady) {
        const path = record.uploadPath ?? record.filePath;
        return { path, size: record.size, sha256: record.sha256, settled: SETTLED };
      }
    }

    // The growth check (for a file whose completeness is unknown) and ffprobe's media check run
    // alongside the first bytes of the send: only completing the upload on the server waits for
    // them (~90 ms of ffprobe per upload no longer comes before the first byte). A refused file
    // is never completed: its partial upload is dropped (sendOnce) or its body cut.
    const growth = record.knownComplete
      ? SETTLED
      : assertNotGrowing(record.filePath, fingerprint, settings.growthCheckMs, signal);
    const settled = Promise.all([growth, assertMediaFile(record.filePath, signal)]).then(() => undefined);
    settled.catch(() => undefined); // awaited by the transport; never an unhandled rejection
    if (!contentPinned && differs(fingerprint, pinned)) {
      logger.warn({ taskId, before: pinned, now: fingerprint }, 'file changed while queued');
      this.note(
        run,
        taskId,
        `the file changed while queued (${pinned.size} → ${fingerprint.size} bytes); uploading it as it is now`,
        { fileSize: fingerprint.size, fileMtimeMs: fingerprint.mtimeMs, size: fingerprint.size },
      );
    }

    if (settings.compress !== 'none') {
      await settled; // no transcoding of a file still being written
      return this.compress(run, record, fingerprint, signal);
    }
    return { path: record.filePath, size: fingerprint.size, sha256: null, settled };
  }

  private async compress(
    run: RunningAttempt,
    record: UploadTaskRecord,
    fingerprint: FileFingerprint,
    signal: AbortSignal,
  ): Promise<PreparedFile> {
    const { settings } = this.deps;
    this.move(run, record.id, 'compressing', `compressing with ${settings.compress}`);
    if (record.remoteUrl !== null && record.protocol === 'tus') {
      // A new copy may differ byte for byte: the old partial upload is useless.
      await this.transport('tus', this.deps.targets.of(record)).terminate(record.remoteUrl);
    }
    const codec = settings.compress === 'h265' ? 'h265' : 'h264';
    const copy = await compressFile(record.filePath, codec, settings.tempDir, record.id, signal);
    await assertUnchangedSince(record.filePath, fingerprint);
    this.note(
      run,
      record.id,
      `compressed to ${copy.size} bytes (ratio ${copy.ratio.toFixed(3)}), original kept`,
      {
        uploadPath: copy.path,
        size: copy.size,
        sha256: null,
        compressionRatio: copy.ratio,
        remoteUrl: null,
        bytesSent: 0,
      },
    );
    return { path: copy.path, size: copy.size, sha256: null, settled: SETTLED };
  }

  private transport(protocol: TransportProtocol, target: TaskTarget, tusEndpoint?: string) {
    return transportFor(protocol, target.http, target.settings, this.deps.limiter, tusEndpoint);
  }

  /** Which protocol and tus endpoint to use, from the server's /health (unless forced to multipart). */
  private async chooseProtocol(
    target: TaskTarget,
    size: number,
    signal: AbortSignal,
  ): Promise<{ protocol: TransportProtocol; tusEndpoint: string }> {
    const { settings, http } = target;
    if (this.deps.s3) return { protocol: 's3', tusEndpoint: '/files/' };
    let tusEndpoint = '/files/';
    let protocol: TransportProtocol = settings.protocol === 'tus' ? 'tus' : 'multipart';
    if (settings.protocol === 'multipart') return { protocol, tusEndpoint };
    const capabilities = await probeServer(http, signal);
    if (capabilities.tusEndpoint !== undefined) tusEndpoint = capabilities.tusEndpoint;
    if (settings.protocol === 'auto') protocol = capabilities.tusEndpoint !== undefined ? 'tus' : 'multipart';
    if (capabilities.maxUploadBytes !== undefined && size > capabilities.maxUploadBytes) {
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `the file (${size} bytes) is larger than the server accepts (${capabilities.maxUploadBytes}); raise its limit or compress it (VULTR_COMPRESS=h264)`,
      );
    }
    return { protocol, tusEndpoint };
  }

  private async send(
    run: RunningAttempt,
    taskId: string,
    file: PreparedFile,
    attempt: number,
    signal: AbortSignal,
  ): Promise<void> {
    const before = this.deps.moves.record(taskId);
    const target = this.deps.targets.of(before);
    const { protocol, tusEndpoint } = await this.chooseProtocol(target, file.size, signal);
    const remoteUrl = before.protocol === protocol ? before.remoteUrl : null;
    // The options sent are read in the same write that marks the task `uploading`: from then on
    // a re-enqueue from another process keeps them instead of changing what the server got.
    const uploading = this.move(
      run,
      taskId,
      'uploading',
      `uploading via ${protocol}${remoteUrl ? ` (resuming ${remoteUrl})` : ''}${attempt > 1 ? `, attempt ${attempt}` : ''}`,
      { protocol, remoteUrl },
    );
    const progress = this.progressHooks(run, taskId, file.size, 0, file.size);
    const transport =
      protocol === 's3' && this.deps.s3
        ? await this.deps.s3.load()
        : this.transport(protocol, target, tusEndpoint);
    const result = await this.sendOnce(run, taskId, transport, {
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
      beforeComplete: () => file.settled,
      onRemoteUrl: (url) =>
        this.note(
          run,
          taskId,
          url === null ? 'the server dropped the partial upload' : `upload created at ${url}`,
          {
            remoteUrl: url,
          },
        ),
      onNote: (message) => this.note(run, taskId, message),
      ...progress,
    });

    if (file.sha256 !== null && result.sha256 !== file.sha256) {
      throw new AppError(
        'FILE_CHANGED',
        `${file.path} no longer has the content an earlier attempt sent (sha256 ${result.sha256}, was ${file.sha256}); enqueue it again`,
      );
    }
    this.note(run, taskId, null, { sha256: result.sha256 });
    const original = this.deps.moves.record(taskId);
    const now = await statUploadable(original.filePath);
    if (differs(now, { size: original.fileSize, mtimeMs: original.fileMtimeMs })) {
      throw new AppError(
        'FILE_CHANGED',
        `${original.filePath} changed while it was being uploaded; enqueue it again`,
      );
    }
    const confirmation = await confirmUpload({
      http: target.http,
      taskId,
      protocol,
      sha256: result.sha256,
      result,
      confirmTimeoutMs: this.deps.settings.confirmTimeoutMs,
      signal,
    });
    const task = this.move(run, taskId, 'completed', confirmation.message, {
      verifiedBy: confirmation.verifiedBy,
      bytesSent: file.size,
      completedAt: new Date().toISOString(),
      nextAttemptAt: null,
    });
    if (original.uploadPath !== null) await rm(original.uploadPath, { force: true });
    this.deps.logger.info({ taskId, sha256: task.sha256 }, 'upload completed');
  }

  /**
   * One transport call. A file found still growing while it was being sent (the growth check
   * ran alongside) leaves no partial upload behind: the retry starts afresh with the new size.
   * Nor does one ffprobe refused while its first bytes were on their way.
   */
  private async sendOnce(run: RunningAttempt, taskId: string, transport: Transport, job: TransportJob) {
    try {
      return await transport.upload(job);
    } catch (error) {
      const remoteUrl = this.deps.moves.record(taskId).remoteUrl;
      const why = isAppError(error) ? DROPPED_BECAUSE[error.code] : undefined;
      if (why !== undefined && remoteUrl !== null) {
        await transport.terminate(remoteUrl);
        this.note(run, taskId, `${why}: the partial upload was dropped`, {
          remoteUrl: null,
          bytesSent: 0,
        });
      }
      throw error;
    }
  }

  /**
   * The transport's progress hooks: bytes the server confirmed plus bytes in flight, emitted
   * at most every 200 ms and persisted at most every second (and at each confirmation).
   */
  private progressHooks(
    run: RunningAttempt,
    taskId: string,
    size: number,
    base: number,
    total: number,
  ): Pick<TransportJob, 'onConfirmed' | 'onBytes'> {
    const meter = new ProgressMeter();
    let confirmed = 0;
    let inflight = 0;
    let lastEmit = 0;
    let lastSaved = 0;
    const report = (force: boolean): void => {
      const now = performance.now();
      // `base`: bytes of a recording's parts already on the server; `total`: all bytes known.
      const bytes = base + Math.min(size, confirmed + inflight);
      meter.add(bytes, now);
      if (!force && now - lastEmit < 200) return;
      lastEmit = now;
      if (force || now - lastSaved > 1000) {
        lastSaved = now;
        this.note(run, taskId, null, { bytesSent: bytes });
      }
      this.deps.emitProgress({
        taskId,
        state: 'uploading',
        bytesSent: bytes,
        totalBytes: total,
        rateBytesPerSecond: Math.round(meter.rate()),
        etaSeconds: meter.eta(bytes, total),
      });
    };
    return {
      onConfirmed: (bytes) => {
        confirmed = bytes;
        inflight = 0;
        report(true);
      },
      onBytes: (bytes) => {
        inflight += bytes;
        report(false);
      },
    };
  }
}

/** A file that changed while it was being hashed or compressed is still being written. */
async function assertUnchangedSince(filePath: string, before: FileFingerprint): Promise<void> {
  const after = await statUploadable(filePath);
  if (differs(after, before)) {
    throw new AppError(
      'FILE_STILL_GROWING',
      `${filePath} changed while it was being checked (${before.size} → ${after.size} bytes); it will be tried again`,
    );
  }
}

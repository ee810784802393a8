import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { UploadPartRecord, UploadPartRepository, UploadRecordingRecord } from '../store/index.js';
import { confirmUpload } from './confirm-upload.js';
import { PartDropped, uploadGrowing } from './growing-upload.js';
import type { OpenPart } from './recording-parts.js';
import type { RateLimiter } from './rate-limiter.js';
import { probeServer } from './server-api.js';
import type { TargetClients, TaskTarget } from './target-clients.js';
import type { TaskMoves } from './task-moves.js';
import { seconds } from './task-view.js';
import type { TransportJob, TransportResult } from './transport.js';
import { transportFor, type TransportProtocol } from './transports.js';
import { TusTransport } from './tus-transport.js';
import type { RunningAttempt } from './upload-scheduler.js';
import type { UploadSettings, UploadState, UploadTask, UploadVerification } from './upload-types.js';

/** What one run of a segmented recording's task ended with. */
export type PartOutcome =
  /** Every part is on the server and the server joined them: the task is completed. */
  | 'done'
  /** Every part closed so far is on the server; the next one (or the count) is awaited. */
  | 'idle'
  /** The server takes no parts: the task goes on as an ordinary upload of the joined file. */
  | 'as-file';

/** What the part flow borrows from the attempt pipeline (its guarded writes and progress). */
export interface PartAttemptDeps {
  moves: TaskMoves;
  parts: UploadPartRepository;
  settings: UploadSettings;
  targets: TargetClients;
  limiter: RateLimiter | undefined;
  logger: Logger;
  /** UPLOAD_TARGET=s3 takes no parts: the joined file goes into the bucket. */
  s3Target: boolean;
  /** The part each recording is writing now (RecorderEvents `segment-open`), by task id. */
  openParts: ReadonlyMap<string, OpenPart>;
  move: (
    run: RunningAttempt,
    taskId: string,
    to: UploadState,
    message: string | null,
    changes?: Parameters<TaskMoves['move']>[3],
  ) => UploadTask;
  note: (
    run: RunningAttempt,
    taskId: string,
    message: string | null,
    changes?: Parameters<TaskMoves['note']>[2],
  ) => void;
  progressHooks: (
    run: RunningAttempt,
    taskId: string,
    size: number,
    base: number,
    total: number,
  ) => Pick<TransportJob, 'onConfirmed' | 'onBytes'>;
}

/** Bytes of the parts already on the server. */
function bytesOnServer(list: readonly UploadPartRecord[]): number {
  return list.filter((p) => p.state === 'uploaded').reduce((sum, p) => sum + p.fileSize, 0);
}

const weakest = (a: UploadVerification, b: UploadVerification): UploadVerification =>
  a === 'none' || b === 'none' ? 'none' : a === 'size' || b === 'size' ? 'size' : 'sha256';

function verification(value: string | null): UploadVerification {
  return value === 'sha256' || value === 'size' ? value : 'none';
}

/**
 * One run of a segmented recording's task (CONTRACTS.md "Segmented recordings"). Parts go out
 * one at a time, in index order, each an ordinary one-pass upload (tus or multipart, with the
 * task's retries, backoff and lease) carrying the recording's task id and its segment index;
 * the last one carries the count. A part the server confirmed is `uploaded` in the station's
 * database and never sent again; a part cut off mid-way resumes from its tus URL.
 *
 *   (run) ─ next part not on the server ─▶ send it ─ confirmed ─▶ (loop)
 *         ─ none left, recording open ─────────────────────────▶ idle (waits for addPart)
 *         ─ none left, count known ─▶ server joined? ─ yes ────▶ completed
 *         ─ the server takes no parts ─────────────────────────▶ as-file (the joined file)
 *   a failure ─▶ retry_wait (backoff) / failed, as for any task
 */
export class PartAttempt {
  constructor(private readonly deps: PartAttemptDeps) {}

  async run(taskId: string, run: RunningAttempt, recording: UploadRecordingRecord): Promise<PartOutcome> {
    const { moves, parts } = this.deps;
    const signal = run.controller.signal;
    const before = moves.record(taskId);
    const resumed = before.state === 'uploading';
    const attempt = resumed ? Math.max(1, before.attempts) : before.attempts + 1;
    if (before.state !== 'uploading' && before.state !== 'validating') {
      this.deps.move(
        run,
        taskId,
        'validating',
        attempt === 1 ? 'checking the recording parts' : `attempt ${attempt}: checking the recording parts`,
        { attempts: attempt, nextAttemptAt: null },
      );
    }
    const target = this.deps.targets.of(before);
    const chosen = await this.choose(target, signal);
    if (chosen === undefined) {
      parts.setMode(taskId, 'joined');
      const where = this.deps.s3Target
        ? 'the bucket (UPLOAD_TARGET=s3)'
        : `the server at ${target.settings.apiUrl}`;
      const message = `${where} takes no recording parts: the joined recording is sent after Stop`;
      if (moves.record(taskId).state !== 'uploading')
        this.deps.move(run, taskId, 'uploading', message, { attempts: attempt });
      else this.deps.note(run, taskId, message);
      return parts.recording(taskId)?.joinedFilePath ? 'as-file' : 'idle';
    }
    const { protocol, tusEndpoint } = chosen;
    if (moves.record(taskId).state !== 'uploading') {
      this.deps.move(
        run,
        taskId,
        'uploading',
        `sending the recording's parts as they close, via ${protocol}${attempt > 1 ? `, attempt ${attempt}` : ''}`,
        { attempts: attempt, protocol },
      );
    }
    const transport = transportFor(protocol, target.http, target.settings, this.deps.limiter, tusEndpoint);
    for (;;) {
      signal.throwIfAborted();
      const current = parts.recording(taskId) ?? recording;
      const list = parts.parts(taskId);
      const next = list.find((p) => p.state !== 'uploaded');
      if (next) {
        await this.sendPart(run, taskId, current, list, next, transport, protocol, target);
        continue;
      }
      const total = current.partsTotal;
      if (total === null || list.length < total) {
        // The part being written goes out while it grows (tus only: its length comes last).
        const open = this.deps.openParts.get(taskId);
        if (open?.index === list.length && transport instanceof TusTransport) {
          await this.streamOpenPart(run, taskId, open, transport, target);
          continue;
        }
        return 'idle';
      }
      const last = list[total - 1] as UploadPartRecord;
      if (last.sentCount !== total) {
        // The last part went out before the count was known: the server needs it with the count.
        parts.updatePart(taskId, last.index, { state: 'pending', remoteUrl: null });
        this.deps.note(run, taskId, `part ${total} of ${total} is sent again with the part count`);
        continue;
      }
      await this.complete(run, taskId, list.slice(0, total), target, signal);
      return 'done';
    }
  }

  /**
   * Sends the part the recorder is writing while it grows (growing-upload.ts), then confirms it
   * as any part. Its tus URL is kept on the task from creation (station v11), so a restart
   * resumes it; once the part is closed its row carries the URL too.
   */
  private async streamOpenPart(
    run: RunningAttempt,
    taskId: string,
    open: OpenPart,
    tus: TusTransport,
    target: TaskTarget,
  ): Promise<void> {
    const { parts, moves } = this.deps;
    const signal = run.controller.signal;
    const recording = parts.recording(taskId);
    const resumeUrl = recording && recording.openPartIndex === open.index ? recording.openPartUrl : null;
    const list = parts.parts(taskId);
    const base = bytesOnServer(list);
    const task = moves.record(taskId);
    const statusId = `${taskId}.part-${open.index}`;
    this.deps.note(
      run,
      taskId,
      `part ${open.index + 1}: ${resumeUrl === null ? 'sending it while it is recorded' : `resuming ${resumeUrl} while it is recorded`}`,
    );
    const progress = this.deps.progressHooks(run, taskId, Number.MAX_SAFE_INTEGER, base, task.fileSize);
    const result = await this.growing(
      tus,
      {
        taskId,
        filePath: open.filePath,
        fileName: path.basename(open.filePath),
        sessionName: task.sessionName,
        autoProcess: task.autoProcess,
        recordingId: task.recordingId,
        part: { index: open.index, count: null, recordingFileName: task.fileName, statusId, resend: false },
        remoteUrl: resumeUrl,
        signal,
        growing: { closed: () => this.closedPart(taskId, open.index) },
        onRemoteUrl: (url) => {
          parts.setOpenPart(taskId, url === null ? null : open.index, url);
          if (parts.parts(taskId).some((p) => p.index === open.index))
            parts.updatePart(taskId, open.index, { protocol: 'tus', remoteUrl: url });
        },
        onNote: (message) => this.deps.note(run, taskId, `part ${open.index + 1}: ${message}`),
        ...progress,
      },
      this.deps.settings.chunkSizeBytes,
    );
    if (result === 'dropped') {
      parts.setOpenPart(taskId, null, null);
      this.deps.note(
        run,
        taskId,
        `part ${open.index + 1} was cut off by the recorder; the recording ends before it`,
      );
      return;
    }
    await this.confirmPart(run, taskId, target, {
      index: open.index,
      protocol: 'tus',
      size: result.size,
      sentCount: result.count,
      base,
      result,
    });
  }

  /** `uploadGrowing`, with a dropped part's upload freed on the server (best effort). */
  private async growing(
    ...args: Parameters<typeof uploadGrowing>
  ): Promise<Awaited<ReturnType<typeof uploadGrowing>> | 'dropped'> {
    try {
      return await uploadGrowing(...args);
    } catch (error) {
      if (!(error instanceof PartDropped)) throw error;
      await args[0].terminate(error.remoteUrl);
      return 'dropped';
    }
  }

  /**
   * The open part's end, once it is closed (it has its row) and it is known whether it is the
   * last: the recording stopped (its count is known) or the next part opened.
   */
  private closedPart(
    taskId: string,
    index: number,
  ): { size: number; count: number | null } | 'dropped' | undefined {
    const { parts } = this.deps;
    const all = parts.parts(taskId);
    const row = all.find((p) => p.index === index);
    const total = parts.recording(taskId)?.partsTotal ?? null;
    // The recorder died with this part open: the recording has fewer parts, without it.
    if (!row && total !== null && index >= total) return 'dropped';
    if (!row) return undefined;
    const nextOpened =
      (this.deps.openParts.get(taskId)?.index ?? -1) > index || all.some((p) => p.index > index);
    if (total === null && !nextOpened) return undefined;
    return { size: row.fileSize, count: total !== null && index === total - 1 ? total : null };
  }

  /** The protocol for parts, or undefined when the target takes none (S3, a server without `recordingParts`). */
  private async choose(
    target: TaskTarget,
    signal: AbortSignal,
  ): Promise<{ protocol: TransportProtocol; tusEndpoint: string } | undefined> {
    if (this.deps.s3Target) return undefined;
    const capabilities = await probeServer(target.http, signal);
    if (!capabilities.recordingParts) return undefined;
    const setting = target.settings.protocol;
    const protocol: TransportProtocol =
      setting === 'multipart' || (setting === 'auto' && capabilities.tusEndpoint === undefined)
        ? 'multipart'
        : 'tus';
    return { protocol, tusEndpoint: capabilities.tusEndpoint ?? '/files/' };
  }

  private async sendPart(
    run: RunningAttempt,
    taskId: string,
    recording: UploadRecordingRecord,
    list: UploadPartRecord[],
    part: UploadPartRecord,
    transport: ReturnType<typeof transportFor>,
    protocol: TransportProtocol,
    target: TaskTarget,
  ): Promise<void> {
    const { parts, moves } = this.deps;
    const signal = run.controller.signal;
    const info = await stat(part.filePath).catch(() => undefined);
    if (!info?.isFile()) {
      throw new AppError('FILE_NOT_FOUND', `recording part ${part.index} is missing: ${part.filePath}`);
    }
    if (info.size !== part.fileSize || info.mtimeMs !== part.fileMtimeMs) {
      throw new AppError(
        'FILE_CHANGED',
        `recording part ${part.index} changed after it was closed: ${part.filePath}`,
      );
    }
    const total = recording.partsTotal;
    const count = total !== null && part.index === total - 1 ? total : null;
    const remoteUrl = part.protocol === protocol ? part.remoteUrl : null;
    parts.updatePart(taskId, part.index, { state: 'uploading', protocol, remoteUrl });
    if (remoteUrl !== null) this.deps.note(run, taskId, `part ${part.index + 1}: resuming ${remoteUrl}`);
    const base = bytesOnServer(list);
    const known = list.reduce((sum, p) => sum + p.fileSize, 0);
    const task = moves.record(taskId);
    const statusId = `${taskId}.part-${part.index}`;
    const result = await transport.upload({
      taskId,
      filePath: part.filePath,
      fileName: part.fileName,
      size: part.fileSize,
      sha256: null,
      sessionName: task.sessionName,
      autoProcess: task.autoProcess,
      recordingId: task.recordingId,
      part: {
        index: part.index,
        count,
        recordingFileName: task.fileName,
        statusId,
        resend: part.sha256 !== null,
      },
      remoteUrl,
      signal,
      onRemoteUrl: (url) => parts.updatePart(taskId, part.index, { remoteUrl: url }),
      onNote: (message) => this.deps.note(run, taskId, `part ${part.index + 1}: ${message}`),
      ...this.deps.progressHooks(run, taskId, part.fileSize, base, known),
    });
    await this.confirmPart(run, taskId, target, {
      index: part.index,
      protocol,
      size: part.fileSize,
      sentCount: count,
      base,
      result,
    });
  }

  /**
   * A part's last byte is on the server (sent closed, or while it grew): its digest confirmed
   * there (/status/<task>.part-<i>), the part recorded `uploaded` with the count it was sent
   * with, and no longer shown on its way if it was the open part (also when another run of the
   * station streamed it). A part on the server ends this part's attempts: the next part starts
   * with a fresh count.
   */
  private async confirmPart(
    run: RunningAttempt,
    taskId: string,
    target: TaskTarget,
    sent: {
      index: number;
      protocol: TransportProtocol;
      size: number;
      sentCount: number | null;
      /** Bytes of the parts on the server before this one. */
      base: number;
      result: TransportResult;
    },
  ): Promise<void> {
    const { parts } = this.deps;
    const { index, protocol, size, result } = sent;
    const confirmation = await confirmUpload({
      http: target.http,
      taskId: `${taskId}.part-${index}`,
      protocol,
      sha256: result.sha256,
      result,
      confirmTimeoutMs: this.deps.settings.confirmTimeoutMs,
      signal: run.controller.signal,
    });
    parts.updatePart(taskId, index, {
      state: 'uploaded',
      protocol,
      bytesSent: size,
      sha256: result.sha256,
      verifiedBy: confirmation.verifiedBy,
      sentCount: sent.sentCount,
      uploadedAt: new Date().toISOString(),
    });
    const recording = parts.recording(taskId);
    if (recording?.openPartIndex === index) parts.setOpenPart(taskId, null, null);
    const total = recording?.partsTotal ?? null;
    const of = total === null ? '' : ` of ${total}`;
    this.deps.note(run, taskId, `part ${index + 1}${of} on the server: ${confirmation.message}`, {
      attempts: 1,
      bytesSent: sent.base + size,
      lastErrorCode: null,
      lastErrorMessage: null,
    });
  }

  /**
   * Every part is on the server: waits until it joined them (its /status leaves `receiving`
   * with all parts received), then completes the task. The join takes longer for longer
   * recordings, so the wait grows with the size (a second per 50 MB on top of the usual).
   */
  private async complete(
    run: RunningAttempt,
    taskId: string,
    list: UploadPartRecord[],
    target: TaskTarget,
    signal: AbortSignal,
  ): Promise<void> {
    const size = list.reduce((sum, p) => sum + p.fileSize, 0);
    const timeoutMs = this.deps.settings.confirmTimeoutMs + Math.ceil(size / 50_000_000) * 1000;
    const deadline = Date.now() + timeoutMs;
    let delay = 50;
    let digest: string | null = null;
    for (;;) {
      const answer = await target.http.short('GET', `/status/${encodeURIComponent(taskId)}`, {
        what: 'status',
        signal,
      });
      if (answer.status === 200) {
        const body = JSON.parse(answer.text) as {
          state?: string;
          parts_received?: number;
          upload?: { sha256?: string | null } | null;
        };
        if (body.state === 'failed') {
          throw new AppError(
            'UPLOAD_FAILED',
            'the server could not join the recording parts; see streamai upload-status',
          );
        }
        if (
          body.state !== undefined &&
          body.state !== 'receiving' &&
          (body.parts_received ?? 0) >= list.length
        ) {
          digest = body.upload?.sha256 ?? null;
          break;
        }
      } else if (answer.status !== 404) {
        throw new AppError(
          'SERVER_ERROR',
          `status: HTTP ${answer.status} while waiting for the recording's join`,
        );
      }
      if (Date.now() > deadline) {
        throw new AppError(
          'SERVER_ERROR',
          `the server did not join the recording's parts within ${seconds(timeoutMs)}`,
        );
      }
      await sleep(delay, undefined, { signal });
      delay = Math.min(1000, delay * 2);
    }
    const verifiedBy = list.map((p) => verification(p.verifiedBy)).reduce(weakest, 'sha256');
    const how =
      verifiedBy === 'sha256'
        ? 'each sha256 confirmed by the server'
        : 'accepted by the server, not every part with a checksum';
    this.deps.move(
      run,
      taskId,
      'completed',
      `all ${list.length} parts on the server, ${how}; joined there into one recording`,
      {
        verifiedBy,
        sha256: digest,
        bytesSent: size,
        completedAt: new Date().toISOString(),
        nextAttemptAt: null,
      },
    );
    this.deps.logger.info({ taskId, parts: list.length }, 'recording upload completed');
  }
}

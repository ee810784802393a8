import { unlink } from 'node:fs/promises';
import { formatBytes, type RetentionPolicy } from '../config/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { RetentionRepository, type Db, type DiskStop, type RetentionDeletion } from '../store/index.js';
import { assertFreeSpace, freeBytes } from './disk-space.js';
import {
  planRetention,
  type PlannedDeletion,
  type RetentionCandidate,
  type RetentionPlan,
} from './retention-plan.js';

/** A recording as the station lists it (src/station's RecordingView, structurally). */
export interface StationRecordingLike {
  id: string;
  sessionId: string;
  sessionName: string;
  state: string;
  date: string;
  sizeBytes: number | null;
  sha256: string | null;
  fileName: string | null;
  upload: { task_id: string; state: string } | null;
}

/** What the retention service needs of the station (typed structurally: src/station is not imported). */
export interface RetentionStation {
  on(event: 'upload', listener: (u: { state: string }) => void): unknown;
  on(event: 'status', listener: (s: { recorder: { recording: boolean } }) => void): unknown;
  off(event: 'upload', listener: (u: { state: string }) => void): unknown;
  off(event: 'status', listener: (s: { recorder: { recording: boolean } }) => void): unknown;
  listRecordings(limit: number): StationRecordingLike[];
  /** The upload tasks, for how the server confirmed each (`verifiedBy`, src/uploads). */
  readonly uploadService: {
    get(taskId: string): ConfirmableTask | undefined;
  };
  recordingFile(id: string, which: 'video'): { path: string };
  stopRecording(): Promise<unknown>;
}

export interface RetentionServiceOptions {
  db: Db;
  policy: RetentionPolicy;
  /** RECORDING_MIN_FREE_BYTES: needed to start; below half of it a recording is stopped. */
  minFreeBytes: number;
  recordingsPath: string;
  logger?: Logger;
  /** How often the policy runs besides after each completed upload [10 min]. */
  intervalMs?: number;
  /** How often free space is checked while recording [2 s]. */
  guardIntervalMs?: number;
  freeBytes?: (dir: string) => Promise<number>;
  now?: () => Date;
}

/**
 * The digest the server confirmed: the task's sha256 only when the server reported the same one
 * (`verifiedBy: 'sha256'`); a server of the original's kind that checked only the size, or
 * nothing, confirmed no digest.
 */
function confirmedDigest(task: ConfirmableTask | undefined): string | null {
  return task?.state === 'completed' && task.verifiedBy === 'sha256' ? task.sha256 : null;
}

/** What retention reads of an upload task (src/uploads' UploadTask fits it). */
interface ConfirmableTask {
  state: string;
  sha256: string | null;
  verifiedBy: string | null;
  parts?: { mode: string; total: number | null; uploaded: number } | undefined;
}

/**
 * A recording sent part by part: the number of parts when the task completed with every part's
 * sha256 confirmed (part uploads complete only once the server joined them); otherwise null.
 */
function confirmedParts(task: ConfirmableTask | undefined): number | null {
  const parts = task?.parts;
  if (confirmedDigest(task) === null || !parts || parts.mode !== 'parts') return null;
  return parts.total !== null && parts.total > 0 && parts.uploaded === parts.total ? parts.total : null;
}

/** A recording's upload as the planner sees it: its task read once, for both confirmations. */
function uploadOf(
  upload: { task_id: string; state: string },
  task: ConfirmableTask | undefined,
): NonNullable<RetentionCandidate['upload']> {
  return {
    taskId: upload.task_id,
    state: upload.state,
    confirmedSha256: confirmedDigest(task),
    confirmedParts: confirmedParts(task),
  };
}

function policyText(p: RetentionPolicy): string {
  if (p.kind === 'keep') return 'keep';
  return p.kind === 'max-gb' ? `max-gb:${p.gigabytes}` : `delete-after-days:${p.days}`;
}

/**
 * Keeps the station's disk safe. Retention: after each completed upload (and every
 * `intervalMs`) it deletes the local files RECORDINGS_RETENTION allows — only recordings whose
 * sha256 the server confirmed, never the one being recorded, never one whose upload failed —
 * recording each deletion (with why) before the file goes. Disk guard: refuses to start below
 * RECORDING_MIN_FREE_BYTES, and stops a running recording cleanly below half of it.
 */
export class RetentionService {
  private readonly repo: RetentionRepository;
  private readonly logger: Logger;
  private readonly free: (dir: string) => Promise<number>;
  private readonly now: () => Date;
  private station: RetentionStation | undefined;
  private refreshMetadata: (sessionId: string) => Promise<void> = async () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private guardTimer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopping = false;
  private readonly onUpload = (u: { state: string }): void => {
    if (u.state === 'completed') void this.run();
  };
  private readonly onStatus = (s: { recorder: { recording: boolean } }): void =>
    this.guard(s.recorder.recording);

  constructor(private readonly options: RetentionServiceOptions) {
    this.repo = new RetentionRepository(options.db);
    this.logger = options.logger ?? silentLogger();
    this.free = options.freeBytes ?? freeBytes;
    this.now = options.now ?? (() => new Date());
  }

  /** Follows the station's uploads and recording state; `refresh` rewrites a session's metadata file. */
  start(station: RetentionStation, refresh: (sessionId: string) => Promise<void>): void {
    this.station = station;
    this.refreshMetadata = refresh;
    station.on('upload', this.onUpload);
    station.on('status', this.onStatus);
    if (this.options.policy.kind !== 'keep') {
      this.timer = setInterval(() => void this.run(), this.options.intervalMs ?? 600_000);
      this.timer.unref();
      void this.run();
    }
  }

  async close(): Promise<void> {
    this.station?.off('upload', this.onUpload);
    this.station?.off('status', this.onStatus);
    clearInterval(this.timer);
    this.guard(false);
    await this.running;
  }

  /** INSUFFICIENT_STORAGE when RECORDINGS_PATH has less than RECORDING_MIN_FREE_BYTES free. */
  async assertCanRecord(): Promise<void> {
    const dir = this.options.recordingsPath;
    assertFreeSpace(dir, await this.free(dir), this.options.minFreeBytes);
  }

  /** What the policy would do now (nothing is deleted). */
  plan(): RetentionPlan {
    return planRetention(this.options.policy, this.candidates(), this.now());
  }

  /** Applies the policy once; runs never overlap. */
  run(): Promise<void> {
    if (this.options.policy.kind === 'keep') return this.running;
    this.running = this.running
      .then(() => this.applyPlan())
      .catch((error: unknown) => {
        this.logger.warn({ err: error }, 'retention run failed');
      });
    return this.running;
  }

  /** Why a recording's local file was deleted, or undefined when it was not. */
  deletedReason(recordingId: string): string | undefined {
    return this.repo.getDeletion(recordingId)?.reason;
  }

  /** What session_metadata.json adds for a session: the files deleted and the recordings stopped for space. */
  metadataFor(sessionId: string): Record<string, unknown> {
    const deleted = this.repo.listDeletions(1000, sessionId).map(deletionView);
    const stops = this.repo.listDiskStops(1000, sessionId).map(diskStopView);
    return {
      ...(deleted.length > 0 ? { local_files_deleted: deleted } : {}),
      ...(stops.length > 0 ? { stopped_for_low_disk: stops } : {}),
    };
  }

  /** GET /api/retention: the policy, free space, what was deleted, what goes next, what is kept and why. */
  async view(): Promise<Record<string, unknown>> {
    const dir = this.options.recordingsPath;
    const free = await this.free(dir).catch(() => null);
    const plan = this.plan();
    const planned = (p: PlannedDeletion): Record<string, unknown> => ({
      recording_id: p.candidate.recordingId,
      session_name: p.candidate.sessionName,
      file_name: p.candidate.fileName,
      size: p.candidate.size,
      due_at: p.dueAt,
      reason: p.reason,
    });
    return {
      success: true,
      policy: policyText(this.options.policy),
      min_free_bytes: this.options.minFreeBytes,
      disk: { path: dir, free_bytes: free, low: free !== null && free < this.options.minFreeBytes },
      local_bytes: plan.localBytes,
      next: [...plan.due, ...plan.upcoming].map(planned),
      kept: plan.kept.map((k) => ({
        recording_id: k.candidate.recordingId,
        file_name: k.candidate.fileName,
        why: k.why,
      })),
      deleted: this.repo.listDeletions(50).map(deletionView),
      stopped_for_low_disk: this.repo.listDiskStops(20).map(diskStopView),
    };
  }

  private candidates(): RetentionCandidate[] {
    const station = this.station;
    if (!station) return [];
    return station.listRecordings(10_000).map((r) => {
      let filePath: string | null = null;
      if (!this.repo.getDeletion(r.id) && r.fileName !== null) {
        try {
          filePath = station.recordingFile(r.id, 'video').path;
        } catch {
          filePath = null;
        }
      }
      return {
        recordingId: r.id,
        sessionId: r.sessionId,
        sessionName: r.sessionName,
        fileName: r.fileName ?? '',
        filePath,
        size: r.sizeBytes ?? 0,
        state: r.state,
        recordedAt: r.date,
        sha256: r.sha256,
        upload: r.upload ? uploadOf(r.upload, station.uploadService.get(r.upload.task_id)) : null,
      };
    });
  }

  private async applyPlan(): Promise<void> {
    const touched = new Set<string>();
    for (const item of this.plan().due) {
      const c = item.candidate;
      if (!c.filePath || !c.sha256 || !c.upload) continue; // the planner never lets these through
      this.repo.addDeletion({
        recordingId: c.recordingId,
        sessionId: c.sessionId,
        fileName: c.fileName,
        size: c.size,
        sha256: c.sha256,
        taskId: c.upload.taskId,
        reason: item.reason,
        deletedAt: this.now().toISOString(),
      });
      try {
        await unlink(c.filePath);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.repo.removeDeletion(c.recordingId);
          this.logger.warn({ err: error, recordingId: c.recordingId }, 'recording file could not be deleted');
          continue;
        }
      }
      touched.add(c.sessionId);
      this.logger.info(
        { recordingId: c.recordingId, file: c.fileName, reason: item.reason },
        'local recording deleted',
      );
    }
    for (const sessionId of touched) await this.refreshMetadata(sessionId).catch(() => undefined);
  }

  /** Watches free space while recording; below half of the minimum, stops the recording and says why. */
  private guard(recording: boolean): void {
    if (!recording) {
      clearInterval(this.guardTimer);
      this.guardTimer = undefined;
      this.stopping = false;
      return;
    }
    if (this.guardTimer) return;
    this.guardTimer = setInterval(
      () => void this.checkWhileRecording(),
      this.options.guardIntervalMs ?? 2000,
    );
    this.guardTimer.unref();
  }

  private async checkWhileRecording(): Promise<void> {
    const station = this.station;
    if (!station || this.stopping) return;
    const dir = this.options.recordingsPath;
    const free = await this.free(dir).catch(() => undefined);
    const floor = this.options.minFreeBytes / 2;
    if (free === undefined || free >= floor) return;
    this.stopping = true;
    const active = station.listRecordings(20).find((r) => r.state === 'recording');
    const message = `stopped: only ${formatBytes(free)} free in ${dir}, below half of RECORDING_MIN_FREE_BYTES=${formatBytes(this.options.minFreeBytes)}; the file was finalised and kept`;
    this.logger.warn({ freeBytes: free, recordingId: active?.id }, message);
    if (active) {
      this.repo.addDiskStop({
        recordingId: active.id,
        sessionId: active.sessionId,
        at: this.now().toISOString(),
        freeBytes: free,
        minFreeBytes: this.options.minFreeBytes,
        message,
      });
    }
    try {
      await station.stopRecording();
    } catch (error) {
      this.logger.warn({ err: error }, 'the recording could not be stopped for low disk space');
      this.stopping = false;
      return;
    }
    if (active) await this.refreshMetadata(active.sessionId).catch(() => undefined);
  }
}

function diskStopView(s: DiskStop): Record<string, unknown> {
  return {
    recording_id: s.recordingId,
    at: s.at,
    free_bytes: s.freeBytes,
    min_free_bytes: s.minFreeBytes,
    message: s.message,
  };
}

function deletionView(d: RetentionDeletion): Record<string, unknown> {
  return {
    recording_id: d.recordingId,
    file_name: d.fileName,
    size: d.size,
    sha256: d.sha256,
    task_id: d.taskId,
    reason: d.reason,
    deleted_at: d.deletedAt,
  };
}

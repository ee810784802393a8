import type { Db } from './open-database.js';

/** A processing job's state: queued → processing → done | failed (and back to queued on a re-run). */
export type ProcessingJobState = 'queued' | 'processing' | 'done' | 'failed';

/** One processing job as stored. JSON columns come back parsed but unvalidated: their owner checks them. */
export interface ProcessingJob {
  taskId: string;
  state: ProcessingJobState;
  filePath: string;
  outputDir: string;
  /** How many times a worker has claimed this job; names the current run. */
  attempt: number;
  progress: number;
  steps: unknown;
  report: unknown;
  outputs: unknown;
  error: { code: string; message: string } | null;
  childPid: number | null;
  /** The service instance holding the job (null when none does), and until when (ms epoch). */
  leaseOwner: string | null;
  leaseExpiresAt: number | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  updatedAt: string;
}

/**
 * A row of `processing_jobs` as SQLite returns it: JSON columns as text (the PostgreSQL store's
 * rows carry them parsed, which `toJob` takes as they are).
 */
export interface ProcessingJobRow {
  task_id: string;
  state: string;
  file_path: string;
  output_dir: string;
  attempt: number;
  progress: number;
  steps: unknown;
  report: unknown;
  outputs: unknown;
  error_code: string | null;
  error_message: string | null;
  child_pid: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  queued_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

const STATES = new Set<string>(['queued', 'processing', 'done', 'failed']);

export function toJob(row: ProcessingJobRow): ProcessingJob {
  return {
    taskId: row.task_id,
    state: STATES.has(row.state) ? (row.state as ProcessingJobState) : 'failed',
    filePath: row.file_path,
    outputDir: row.output_dir,
    attempt: row.attempt,
    progress: row.progress,
    steps: parse(row.steps, []),
    report: row.report === null ? null : parse(row.report, null),
    outputs: parse(row.outputs, []),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    childPid: row.child_pid,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    updatedAt: row.updated_at,
  };
}

function parse(text: unknown, fallback: unknown): unknown {
  if (typeof text !== 'string') return text ?? fallback;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return fallback;
  }
}

/**
 * The processing queue in the ingest database (`processing_jobs`, ingest schema v2 + v4 leases).
 * States: queued → processing (claimed under a lease) → done | failed; processing → queued when a
 * run is stopped or its owner is found dead; any state → queued on a re-queue (enqueue). Every
 * move of a run is one guarded UPDATE that must change exactly one row.
 */
export class ProcessingJobRepository {
  constructor(private readonly db: Db) {}

  /** Queues a job, or re-queues an existing one from scratch (its previous results are dropped). */
  enqueue(
    job: { taskId: string; filePath: string; outputDir: string; steps: unknown },
    now: Date,
  ): ProcessingJob {
    const at = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO processing_jobs (task_id, state, file_path, output_dir, steps, queued_at, updated_at)
         VALUES (@taskId, 'queued', @filePath, @outputDir, @steps, @at, @at)
         ON CONFLICT (task_id) DO UPDATE SET
           state = 'queued', file_path = @filePath, output_dir = @outputDir, progress = 0, steps = @steps,
           report = NULL, outputs = '[]', error_code = NULL, error_message = NULL, child_pid = NULL,
           lease_owner = NULL, lease_expires_at = NULL,
           queued_at = @at, started_at = NULL, finished_at = NULL, updated_at = @at`,
      )
      .run({ ...job, steps: JSON.stringify(job.steps), at });
    return this.get(job.taskId) as ProcessingJob;
  }

  get(taskId: string): ProcessingJob | undefined {
    const row = this.db.prepare('SELECT * FROM processing_jobs WHERE task_id = ?').get(taskId) as
      ProcessingJobRow | undefined;
    return row ? toJob(row) : undefined;
  }

  /** Jobs in one state, oldest queued first. */
  listByState(state: ProcessingJobState): ProcessingJob[] {
    const rows = this.db
      .prepare('SELECT * FROM processing_jobs WHERE state = ? ORDER BY queued_at, task_id')
      .all(state) as ProcessingJobRow[];
    return rows.map(toJob);
  }

  /**
   * Claims the oldest queued job (other than `exclude`), or else the oldest job "processing" whose
   * lease has expired (its owner died or stopped renewing): it moves to processing under `owner`'s
   * lease with a new attempt number. `takenOver` says the job was taken from an expired lease, so
   * the caller can make sure the old owner's ffmpeg is gone. `only` limits the claim to one task
   * (a queue worker handed that task by BullMQ).
   */
  claimNext(
    lease: { owner: string; durationMs: number },
    now: Date,
    exclude: string[] = [],
    only: string | null = null,
  ): (ProcessingJob & { takenOver: boolean }) | undefined {
    return this.db.transaction(() => {
      const row = this.db
        .prepare(
          `SELECT task_id, state, lease_owner FROM processing_jobs
           WHERE task_id NOT IN (SELECT value FROM json_each(@exclude))
             AND (@only IS NULL OR task_id = @only)
             AND (state = 'queued' OR (state = 'processing' AND COALESCE(lease_expires_at, 0) <= @nowMs))
           ORDER BY state = 'processing', queued_at, task_id LIMIT 1`,
        )
        .get({ exclude: JSON.stringify(exclude), nowMs: now.getTime(), only }) as
        { task_id: string; state: string; lease_owner: string | null } | undefined;
      if (!row) return undefined;
      const at = now.toISOString();
      const moved = this.db
        .prepare(
          `UPDATE processing_jobs SET state = 'processing', attempt = attempt + 1, started_at = @at,
             finished_at = NULL, error_code = NULL, error_message = NULL, updated_at = @at,
             lease_owner = @owner, lease_expires_at = @expires
           WHERE task_id = @taskId AND state = @state AND lease_owner IS @previousOwner`,
        )
        .run({
          taskId: row.task_id,
          state: row.state,
          previousOwner: row.lease_owner,
          owner: lease.owner,
          expires: now.getTime() + lease.durationMs,
          at,
        });
      if (moved.changes !== 1) return undefined;
      const job = this.get(row.task_id);
      return job && { ...job, takenOver: row.state === 'processing' };
    })();
  }

  /**
   * Extends a run's lease; false when the run no longer holds it (re-queued, taken over after it
   * expired), in which case the run must stop.
   */
  renewLease(run: RunRef, durationMs: number, now: Date): boolean {
    return this.runWrite(
      `UPDATE processing_jobs SET lease_expires_at = @expires
       WHERE ${GUARD}`,
      { ...run, expires: now.getTime() + durationMs },
    );
  }

  /** Records a running job's steps and progress; ignored when that run is no longer the current one. */
  updateProgress(run: RunRef, progress: number, steps: unknown, now: Date): boolean {
    return this.runWrite(
      `UPDATE processing_jobs SET progress = @progress, steps = @steps, updated_at = @at WHERE ${GUARD}`,
      { ...run, progress, steps: JSON.stringify(steps), at: now.toISOString() },
    );
  }

  /** Remembers (or forgets, with null) the ffmpeg child of a running job. */
  setChildPid(run: RunRef, pid: number | null): boolean {
    return this.runWrite(`UPDATE processing_jobs SET child_pid = @pid WHERE ${GUARD}`, { ...run, pid });
  }

  /** Ends a run as done with its report and outputs, and releases its lease. */
  complete(run: RunRef, result: { steps: unknown; report: unknown; outputs: unknown }, now: Date): boolean {
    const at = now.toISOString();
    return this.runWrite(
      `UPDATE processing_jobs SET state = 'done', progress = 1, steps = @steps, report = @report, outputs = @outputs,
         child_pid = NULL, finished_at = @at, updated_at = @at, ${RELEASE}
       WHERE ${GUARD}`,
      {
        ...run,
        steps: JSON.stringify(result.steps),
        report: JSON.stringify(result.report),
        outputs: JSON.stringify(result.outputs),
        at,
      },
    );
  }

  /** Ends a run as failed with a stable error code, and releases its lease. */
  fail(
    run: RunRef,
    result: { steps: unknown; outputs: unknown; error: { code: string; message: string } },
    now: Date,
  ): boolean {
    const at = now.toISOString();
    return this.runWrite(
      `UPDATE processing_jobs SET state = 'failed', steps = @steps, outputs = @outputs, error_code = @code,
         error_message = @message, child_pid = NULL, finished_at = @at, updated_at = @at, ${RELEASE}
       WHERE ${GUARD}`,
      {
        ...run,
        steps: JSON.stringify(result.steps),
        outputs: JSON.stringify(result.outputs),
        code: result.error.code,
        message: result.error.message,
        at,
      },
    );
  }

  /**
   * Puts a job being processed back in the queue, keeping its steps so the next run can resume,
   * and releases its lease. `run.owner` is the owner the caller saw: a lease renewed or taken by
   * someone else since is left alone.
   */
  requeue(run: { taskId: string; attempt: number; owner: string | null }, now: Date): boolean {
    return this.runWrite(
      `UPDATE processing_jobs SET state = 'queued', child_pid = NULL, updated_at = @at, ${RELEASE}
       WHERE ${GUARD}`,
      { ...run, at: now.toISOString() },
    );
  }

  private runWrite(sql: string, params: Record<string, unknown>): boolean {
    return this.db.prepare(sql).run(params).changes === 1;
  }
}

/** Names one run of a job: every write of that run is guarded by all three. */
export interface RunRef {
  taskId: string;
  attempt: number;
  owner: string;
}

// The guard of every write a run makes: still this run, still processing, still this owner's lease.
const GUARD = `task_id = @taskId AND attempt = @attempt AND state = 'processing' AND lease_owner IS @owner`;
const RELEASE = 'lease_owner = NULL, lease_expires_at = NULL';

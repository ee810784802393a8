import type pg from 'pg';
import {
  toJob,
  type ProcessingJob,
  type ProcessingJobRow,
  type ProcessingJobState,
  type RunRef,
} from '../processing-job-repository.js';
import { isoOf, numberOf } from './pg-values.js';
import type { ProcessingJobStore } from './types.js';

/** A row as node-postgres returns it: ProcessingJobRow's columns, jsonb parsed, timestamps as Dates. */
type Row = Omit<
  ProcessingJobRow,
  'lease_expires_at' | 'queued_at' | 'started_at' | 'finished_at' | 'updated_at'
> & {
  lease_expires_at: string | null;
  queued_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
};

function fromPg(r: Row): ProcessingJob {
  return toJob({
    ...r,
    lease_expires_at: numberOf(r.lease_expires_at),
    queued_at: isoOf(r.queued_at),
    started_at: isoOf(r.started_at),
    finished_at: isoOf(r.finished_at),
    updated_at: isoOf(r.updated_at),
  });
}

/** jsonb parameters go as JSON text: node-postgres would send a JS array as a PostgreSQL array. */
const json = (value: unknown): string => JSON.stringify(value ?? null);

// Every write of a run: still this run ($1 task, $2 attempt), still processing, still this owner's lease ($3).
const GUARD = `task_id = $1 AND attempt = $2 AND state = 'processing' AND lease_owner IS NOT DISTINCT FROM $3`;
const RELEASE = 'lease_owner = NULL, lease_expires_at = NULL';

/**
 * `processing_jobs` on PostgreSQL, with the states and leases ProcessingJobRepository documents.
 * A claim is one statement: the candidate row is locked with FOR UPDATE SKIP LOCKED (two nodes
 * claiming at once take different jobs, or one of them none) and moved in the same UPDATE; every
 * later write of the run is guarded by task, attempt, state and lease owner.
 */
export class PgProcessingJobStore implements ProcessingJobStore {
  constructor(private readonly pool: pg.Pool) {}

  private async write(sql: string, params: unknown[]): Promise<boolean> {
    const { rowCount } = await this.pool.query(sql, params);
    return rowCount === 1;
  }

  async enqueue(
    job: { taskId: string; filePath: string; outputDir: string; steps: unknown },
    now: Date,
  ): Promise<ProcessingJob> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO processing_jobs (task_id, state, file_path, output_dir, steps, queued_at, updated_at)
       VALUES ($1, 'queued', $2, $3, $4::jsonb, $5, $5)
       ON CONFLICT (task_id) DO UPDATE SET
         state = 'queued', file_path = excluded.file_path, output_dir = excluded.output_dir, progress = 0,
         steps = excluded.steps, report = NULL, outputs = '[]', error_code = NULL, error_message = NULL,
         child_pid = NULL, lease_owner = NULL, lease_expires_at = NULL,
         queued_at = excluded.queued_at, started_at = NULL, finished_at = NULL, updated_at = excluded.updated_at
       RETURNING *`,
      [job.taskId, job.filePath, job.outputDir, json(job.steps), now],
    );
    return fromPg(rows[0] as Row);
  }

  async get(taskId: string): Promise<ProcessingJob | undefined> {
    const { rows } = await this.pool.query<Row>('SELECT * FROM processing_jobs WHERE task_id = $1', [taskId]);
    return rows[0] ? fromPg(rows[0]) : undefined;
  }

  async listByState(state: ProcessingJobState): Promise<ProcessingJob[]> {
    const { rows } = await this.pool.query<Row>(
      'SELECT * FROM processing_jobs WHERE state = $1 ORDER BY queued_at, task_id',
      [state],
    );
    return rows.map(fromPg);
  }

  async claimNext(
    lease: { owner: string; durationMs: number },
    now: Date,
    exclude: string[] = [],
    only: string | null = null,
  ): Promise<(ProcessingJob & { takenOver: boolean }) | undefined> {
    const { rows } = await this.pool.query<Row & { previous_state: string }>(
      `WITH next AS (
         SELECT task_id, state AS previous_state FROM processing_jobs
         WHERE NOT (task_id = ANY($1::text[]))
           AND ($2::text IS NULL OR task_id = $2)
           AND (state = 'queued' OR (state = 'processing' AND COALESCE(lease_expires_at, 0) <= $3))
         ORDER BY state = 'processing', queued_at, task_id
         LIMIT 1
         FOR UPDATE SKIP LOCKED
       )
       UPDATE processing_jobs AS j SET state = 'processing', attempt = j.attempt + 1, started_at = $4,
         finished_at = NULL, error_code = NULL, error_message = NULL, updated_at = $4,
         lease_owner = $5, lease_expires_at = $6
       FROM next WHERE j.task_id = next.task_id
       RETURNING j.*, next.previous_state`,
      [exclude, only, now.getTime(), now, lease.owner, now.getTime() + lease.durationMs],
    );
    const row = rows[0];
    return row && { ...fromPg(row), takenOver: row.previous_state === 'processing' };
  }

  renewLease(run: RunRef, durationMs: number, now: Date): Promise<boolean> {
    return this.write(`UPDATE processing_jobs SET lease_expires_at = $4 WHERE ${GUARD}`, [
      run.taskId,
      run.attempt,
      run.owner,
      now.getTime() + durationMs,
    ]);
  }

  updateProgress(run: RunRef, progress: number, steps: unknown, now: Date): Promise<boolean> {
    return this.write(
      `UPDATE processing_jobs SET progress = $4, steps = $5::jsonb, updated_at = $6 WHERE ${GUARD}`,
      [run.taskId, run.attempt, run.owner, progress, json(steps), now],
    );
  }

  setChildPid(run: RunRef, pid: number | null): Promise<boolean> {
    return this.write(`UPDATE processing_jobs SET child_pid = $4 WHERE ${GUARD}`, [
      run.taskId,
      run.attempt,
      run.owner,
      pid,
    ]);
  }

  complete(
    run: RunRef,
    result: { steps: unknown; report: unknown; outputs: unknown },
    now: Date,
  ): Promise<boolean> {
    return this.write(
      `UPDATE processing_jobs SET state = 'done', progress = 1, steps = $4::jsonb, report = $5::jsonb,
         outputs = $6::jsonb, child_pid = NULL, finished_at = $7, updated_at = $7, ${RELEASE}
       WHERE ${GUARD}`,
      [
        run.taskId,
        run.attempt,
        run.owner,
        json(result.steps),
        json(result.report),
        json(result.outputs),
        now,
      ],
    );
  }

  fail(
    run: RunRef,
    result: { steps: unknown; outputs: unknown; error: { code: string; message: string } },
    now: Date,
  ): Promise<boolean> {
    return this.write(
      `UPDATE processing_jobs SET state = 'failed', steps = $4::jsonb, outputs = $5::jsonb, error_code = $6,
         error_message = $7, child_pid = NULL, finished_at = $8, updated_at = $8, ${RELEASE}
       WHERE ${GUARD}`,
      [
        run.taskId,
        run.attempt,
        run.owner,
        json(result.steps),
        json(result.outputs),
        result.error.code,
        result.error.message,
        now,
      ],
    );
  }

  requeue(run: { taskId: string; attempt: number; owner: string | null }, now: Date): Promise<boolean> {
    return this.write(
      `UPDATE processing_jobs SET state = 'queued', child_pid = NULL, updated_at = $4, ${RELEASE} WHERE ${GUARD}`,
      [run.taskId, run.attempt, run.owner, now],
    );
  }
}

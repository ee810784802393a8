import type { Db } from './open-database.js';

/** A request to the processing server to process an S3 task's object (see station-v10). */
export interface S3ProcessRequestRecord {
  taskId: string;
  serverUrl: string;
  key: string;
  sha256: string;
  fileName: string;
  state: 'pending' | 'started' | 'failed';
  attempts: number;
  /** ms epoch. */
  nextAttemptAt: number;
  errorCode: string | null;
  errorMessage: string | null;
  updatedAt: string;
}

interface Row {
  task_id: string;
  server_url: string;
  object_key: string;
  sha256: string;
  file_name: string;
  state: string;
  attempts: number;
  next_attempt_at: number;
  error_code: string | null;
  error_message: string | null;
  updated_at: string;
}

function fromRow(row: Row): S3ProcessRequestRecord {
  return {
    taskId: row.task_id,
    serverUrl: row.server_url,
    key: row.object_key,
    sha256: row.sha256,
    fileName: row.file_name,
    state: row.state === 'started' || row.state === 'failed' ? row.state : 'pending',
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    errorCode: row.error_code,
    errorMessage: row.error_message,
    updatedAt: row.updated_at,
  };
}

/**
 * The station's process-object requests. Sending one is claimed with a lease (one process asks
 * at a time; a crashed asker's claim expires), every write after it is guarded by the claim.
 */
export class S3ProcessRequestRepository {
  constructor(private readonly db: Db) {}

  get(taskId: string): S3ProcessRequestRecord | undefined {
    const row = this.db.prepare('SELECT * FROM s3_process_requests WHERE task_id = ?').get(taskId) as
      Row | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Records a request to make now; false when the task already has one (kept as it is). */
  add(
    request: Pick<S3ProcessRequestRecord, 'taskId' | 'serverUrl' | 'key' | 'sha256' | 'fileName'>,
  ): boolean {
    const now = new Date();
    const { changes } = this.db
      .prepare(
        `INSERT INTO s3_process_requests
           (task_id, server_url, object_key, sha256, file_name, state, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (task_id) DO NOTHING`,
      )
      .run(
        request.taskId,
        request.serverUrl,
        request.key,
        request.sha256,
        request.fileName,
        now.getTime(),
        now.toISOString(),
        now.toISOString(),
      );
    return changes === 1;
  }

  /** Pending requests whose time has come and that nobody holds, soonest first. */
  due(now: number): S3ProcessRequestRecord[] {
    return (
      this.db
        .prepare(
          `SELECT * FROM s3_process_requests
           WHERE state = 'pending' AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
           ORDER BY next_attempt_at`,
        )
        .all(now, now) as Row[]
    ).map(fromRow);
  }

  /** When the soonest pending request is due (ms epoch), or undefined when none is pending. */
  nextDue(): number | undefined {
    const row = this.db
      .prepare(
        `SELECT MIN(MAX(next_attempt_at, COALESCE(lease_expires_at, 0))) AS at
         FROM s3_process_requests WHERE state = 'pending'`,
      )
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  /** Claims a due request for `owner` until `now + leaseMs` and counts the attempt; false if taken. */
  claim(taskId: string, owner: string, now: number, leaseMs: number): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE s3_process_requests
         SET lease_owner = ?, lease_expires_at = ?, attempts = attempts + 1, updated_at = ?
         WHERE task_id = ? AND state = 'pending' AND next_attempt_at <= ?
           AND (lease_expires_at IS NULL OR lease_expires_at < ?)`,
      )
      .run(owner, now + leaseMs, new Date(now).toISOString(), taskId, now, now);
    return changes === 1;
  }

  /**
   * The claimed request's outcome: started, failed for good, or pending again at
   * `nextAttemptAt` after `error`. The claim is released; false when `owner` lost it.
   */
  settle(
    taskId: string,
    owner: string,
    outcome:
      | { state: 'started' }
      | { state: 'failed'; error: { code: string; message: string } }
      | { state: 'pending'; nextAttemptAt: number; error: { code: string; message: string } },
  ): boolean {
    const error = outcome.state === 'started' ? null : outcome.error;
    const { changes } = this.db
      .prepare(
        `UPDATE s3_process_requests
         SET state = ?, next_attempt_at = COALESCE(?, next_attempt_at), error_code = ?, error_message = ?,
             lease_owner = NULL, lease_expires_at = NULL, updated_at = ?
         WHERE task_id = ? AND lease_owner = ?`,
      )
      .run(
        outcome.state,
        outcome.state === 'pending' ? outcome.nextAttemptAt : null,
        error?.code ?? null,
        error?.message ?? null,
        new Date().toISOString(),
        taskId,
        owner,
      );
    return changes === 1;
  }
}

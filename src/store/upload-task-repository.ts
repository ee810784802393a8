import type { Db } from './open-database.js';

/** One upload task as the station's database holds it (the upload service's durable queue). */
export interface UploadTaskRecord {
  id: string;
  filePath: string;
  fileName: string;
  fileSize: number;
  fileMtimeMs: number;
  sessionName: string | null;
  recordingId: string | null;
  autoProcess: boolean;
  state: string;
  attempts: number;
  nextAttemptAt: string | null;
  bytesSent: number;
  size: number;
  sha256: string | null;
  protocol: string | null;
  remoteUrl: string | null;
  uploadPath: string | null;
  compressionRatio: number | null;
  lastErrorCode: string | null;
  lastErrorMessage: string | null;
  leaseOwner: string | null;
  /** When the lease ends unless renewed (ms since the epoch); null: no lease, or one from before v3. */
  leaseExpiresAt: number | null;
  /** How the server confirmed the upload: 'sha256', 'size', 'none'; null until completed (v4). */
  verifiedBy: string | null;
  /** The server the task goes to and the protocol setting it was enqueued with (v5; null before). */
  targetUrl: string | null;
  targetProtocol: string | null;
  /** The enqueuer knows the file is finished: no growth check (v5). */
  knownComplete: boolean;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** What a new task is inserted with (the rest starts empty). */
export type NewUploadTask = Omit<
  UploadTaskRecord,
  'updatedAt' | 'leaseExpiresAt' | 'verifiedBy' | 'targetUrl' | 'targetProtocol' | 'knownComplete'
> &
  Partial<Pick<UploadTaskRecord, 'targetUrl' | 'targetProtocol' | 'knownComplete'>>;

/** The fields of an upload task that change while it runs. */
export type UploadTaskChanges = Partial<
  Omit<UploadTaskRecord, 'id' | 'filePath' | 'fileName' | 'createdAt' | 'updatedAt'>
>;

/** One line of a task's history: a state it entered, when, and why. */
export interface UploadTaskEvent {
  at: string;
  state: string;
  message: string | null;
}

interface UploadTaskRow {
  id: string;
  file_path: string;
  file_name: string;
  file_size: number;
  file_mtime_ms: number;
  session_name: string | null;
  recording_id: string | null;
  auto_process: number;
  state: string;
  attempts: number;
  next_attempt_at: string | null;
  bytes_sent: number;
  size: number;
  sha256: string | null;
  protocol: string | null;
  remote_url: string | null;
  upload_path: string | null;
  compression_ratio: number | null;
  last_error_code: string | null;
  last_error_message: string | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  verified_by: string | null;
  target_url: string | null;
  target_protocol: string | null;
  known_complete: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

const COLUMNS: Record<keyof UploadTaskChanges, keyof UploadTaskRow> = {
  fileSize: 'file_size',
  fileMtimeMs: 'file_mtime_ms',
  sessionName: 'session_name',
  recordingId: 'recording_id',
  autoProcess: 'auto_process',
  state: 'state',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  bytesSent: 'bytes_sent',
  size: 'size',
  sha256: 'sha256',
  protocol: 'protocol',
  remoteUrl: 'remote_url',
  uploadPath: 'upload_path',
  compressionRatio: 'compression_ratio',
  lastErrorCode: 'last_error_code',
  lastErrorMessage: 'last_error_message',
  leaseOwner: 'lease_owner',
  leaseExpiresAt: 'lease_expires_at',
  verifiedBy: 'verified_by',
  targetUrl: 'target_url',
  targetProtocol: 'target_protocol',
  knownComplete: 'known_complete',
  completedAt: 'completed_at',
};

/** Appends `column = @column` for each defined change (booleans stored as 0/1). */
function addSets(changes: UploadTaskChanges, sets: string[], params: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(changes) as Array<[keyof UploadTaskChanges, unknown]>) {
    if (value === undefined) continue;
    const column = COLUMNS[key];
    sets.push(`${column} = @${column}`);
    params[column] = typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
}

function fromRow(row: UploadTaskRow): UploadTaskRecord {
  return {
    id: row.id,
    filePath: row.file_path,
    fileName: row.file_name,
    fileSize: row.file_size,
    fileMtimeMs: row.file_mtime_ms,
    sessionName: row.session_name,
    recordingId: row.recording_id,
    autoProcess: row.auto_process === 1,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    bytesSent: row.bytes_sent,
    size: row.size,
    sha256: row.sha256,
    protocol: row.protocol,
    remoteUrl: row.remote_url,
    uploadPath: row.upload_path,
    compressionRatio: row.compression_ratio,
    lastErrorCode: row.last_error_code,
    lastErrorMessage: row.last_error_message,
    leaseOwner: row.lease_owner,
    leaseExpiresAt: row.lease_expires_at,
    verifiedBy: row.verified_by,
    targetUrl: row.target_url,
    targetProtocol: row.target_protocol,
    knownComplete: row.known_complete === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}

/** Upload tasks and their history in the station's SQLite database. */
export class UploadTaskRepository {
  constructor(private readonly db: Db) {}

  /** Inserts a new task and the first line of its history, in one transaction. */
  insert(task: NewUploadTask, message: string | null): UploadTaskRecord {
    const row = {
      id: task.id,
      file_path: task.filePath,
      file_name: task.fileName,
      file_size: task.fileSize,
      file_mtime_ms: task.fileMtimeMs,
      session_name: task.sessionName,
      recording_id: task.recordingId,
      auto_process: task.autoProcess ? 1 : 0,
      state: task.state,
      attempts: task.attempts,
      next_attempt_at: task.nextAttemptAt,
      bytes_sent: task.bytesSent,
      size: task.size,
      sha256: task.sha256,
      protocol: task.protocol,
      remote_url: task.remoteUrl,
      upload_path: task.uploadPath,
      compression_ratio: task.compressionRatio,
      last_error_code: task.lastErrorCode,
      last_error_message: task.lastErrorMessage,
      lease_owner: task.leaseOwner,
      lease_expires_at: null,
      verified_by: null,
      target_url: task.targetUrl ?? null,
      target_protocol: task.targetProtocol ?? null,
      known_complete: task.knownComplete === true ? 1 : 0,
      created_at: task.createdAt,
      updated_at: task.createdAt,
      completed_at: task.completedAt,
    } satisfies UploadTaskRow;
    const names = Object.keys(row);
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO upload_tasks (${names.join(', ')}) VALUES (${names.map((n) => '@' + n).join(', ')})`,
        )
        .run(row);
      this.addEvent(task.id, task.createdAt, task.state, message);
    })();
    return this.get(task.id) as UploadTaskRecord;
  }

  get(id: string): UploadTaskRecord | undefined {
    const row = this.db.prepare('SELECT * FROM upload_tasks WHERE id = ?').get(id) as
      UploadTaskRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** Most recent first. */
  list(limit: number): UploadTaskRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM upload_tasks ORDER BY created_at DESC, rowid DESC LIMIT ?')
      .all(limit) as UploadTaskRow[];
    return rows.map(fromRow);
  }

  /** Tasks in any of the given states, oldest first (the queue's order). */
  listInStates(states: readonly string[]): UploadTaskRecord[] {
    if (states.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT * FROM upload_tasks WHERE state IN (${states.map(() => '?').join(', ')})
         ORDER BY created_at ASC, rowid ASC`,
      )
      .all(...states) as UploadTaskRow[];
    return rows.map(fromRow);
  }

  /** The unfinished task for this exact file (same path, size and mtime), if any. */
  findUnfinishedForFile(
    filePath: string,
    fileSize: number,
    fileMtimeMs: number,
    finishedStates: readonly string[],
  ): UploadTaskRecord | undefined {
    const row = this.db
      .prepare(
        `SELECT * FROM upload_tasks
         WHERE file_path = ? AND file_size = ? AND file_mtime_ms = ?
           AND state NOT IN (${finishedStates.map(() => '?').join(', ')})
         ORDER BY created_at DESC LIMIT 1`,
      )
      .get(filePath, fileSize, fileMtimeMs, ...finishedStates) as UploadTaskRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  /**
   * Applies changes; when `event` is given, records it in the history in the same transaction.
   * Returns the updated task.
   */
  update(
    id: string,
    changes: UploadTaskChanges,
    at: string,
    event?: { state: string; message: string | null },
  ): UploadTaskRecord {
    const sets: string[] = ['updated_at = @updated_at'];
    const params: Record<string, unknown> = { id, updated_at: at };
    addSets(changes, sets, params);
    this.db.transaction(() => {
      this.db.prepare(`UPDATE upload_tasks SET ${sets.join(', ')} WHERE id = @id`).run(params);
      if (event) this.addEvent(id, at, event.state, event.message);
    })();
    const updated = this.get(id);
    if (!updated) throw new Error(`upload task ${id} vanished`);
    return updated;
  }

  /**
   * Applies changes only while the task is still in `guard.state` (and, when given, still
   * leased by `guard.leaseOwner`): the expected state is in the WHERE, so a move another
   * process made meanwhile is never overwritten. Undefined when nothing matched.
   */
  guardedUpdate(
    id: string,
    guard: { state: string; leaseOwner?: string },
    changes: UploadTaskChanges,
    at: string,
    event?: { state: string; message: string | null },
  ): UploadTaskRecord | undefined {
    const sets: string[] = ['updated_at = @updated_at'];
    const params: Record<string, unknown> = { id, updated_at: at, guard_state: guard.state };
    addSets(changes, sets, params);
    let where = 'id = @id AND state = @guard_state';
    if (guard.leaseOwner !== undefined) {
      where += ' AND lease_owner = @guard_owner';
      params['guard_owner'] = guard.leaseOwner;
    }
    const moved = this.db.transaction(() => {
      const { changes: count } = this.db
        .prepare(`UPDATE upload_tasks SET ${sets.join(', ')} WHERE ${where}`)
        .run(params);
      if (count !== 1) return false;
      if (event) this.addEvent(id, at, event.state, event.message);
      return true;
    })();
    return moved ? this.get(id) : undefined;
  }

  /**
   * Reads the task and applies what `decide` returns for it in one immediate transaction, so
   * no other process (a worker about to send the task) can change it between the decision and
   * the write. Returns the updated task.
   */
  updateWith(
    id: string,
    at: string,
    decide: (current: UploadTaskRecord) => {
      changes: UploadTaskChanges;
      event?: { state: string; message: string | null };
    },
  ): UploadTaskRecord {
    return this.db
      .transaction(() => {
        const current = this.get(id);
        if (!current) throw new Error(`upload task ${id} vanished`);
        const { changes, event } = decide(current);
        return this.update(id, changes, at, event);
      })
      .immediate();
  }

  /**
   * Takes the task for `owner` until `expiresAt` unless another owner holds an unexpired
   * lease on it (a crashed or frozen process simply stops renewing). One guarded write.
   */
  claim(id: string, owner: string, now: number, expiresAt: number): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE upload_tasks SET lease_owner = @owner, lease_expires_at = @expires
         WHERE id = @id AND (lease_owner IS NULL OR lease_owner = @owner
           OR lease_expires_at IS NULL OR lease_expires_at <= @now)`,
      )
      .run({ id, owner, now, expires: expiresAt });
    return changes === 1;
  }

  /**
   * Pushes `owner`'s lease forward while the task is still in one of `states`. False when the
   * lease was lost (taken over after it expired) or the task was moved on by someone else.
   */
  renew(id: string, owner: string, expiresAt: number, states: readonly string[]): boolean {
    const { changes } = this.db
      .prepare(
        `UPDATE upload_tasks SET lease_expires_at = ?
         WHERE id = ? AND lease_owner = ? AND state IN (${states.map(() => '?').join(', ')})`,
      )
      .run(expiresAt, id, owner, ...states);
    return changes === 1;
  }

  /** Moves the lease from `from` (a process known to be gone) to `owner`; false if `from` no longer holds it. */
  takeOver(id: string, from: string, owner: string, expiresAt: number): boolean {
    const { changes } = this.db
      .prepare(
        'UPDATE upload_tasks SET lease_owner = ?, lease_expires_at = ? WHERE id = ? AND lease_owner = ?',
      )
      .run(owner, expiresAt, id, from);
    return changes === 1;
  }

  /** Gives the task back (only if `owner` still holds it). */
  release(id: string, owner: string): void {
    this.db
      .prepare(
        'UPDATE upload_tasks SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ? AND lease_owner = ?',
      )
      .run(id, owner);
  }

  /** The task's history, oldest first. */
  events(id: string): UploadTaskEvent[] {
    return this.db
      .prepare('SELECT at, state, message FROM upload_task_events WHERE task_id = ? ORDER BY id ASC')
      .all(id) as UploadTaskEvent[];
  }

  private addEvent(taskId: string, at: string, state: string, message: string | null): void {
    this.db
      .prepare('INSERT INTO upload_task_events (task_id, at, state, message) VALUES (?, ?, ?, ?)')
      .run(taskId, at, state, message);
  }
}

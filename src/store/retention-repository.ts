import type { Db } from './open-database.js';

/** A local recording file the retention policy deleted, and why (the server keeps its copy). */
export interface RetentionDeletion {
  recordingId: string;
  sessionId: string;
  fileName: string;
  size: number;
  sha256: string;
  taskId: string;
  reason: string;
  deletedAt: string;
}

/** A recording the disk guard stopped because free space ran low. */
export interface DiskStop {
  recordingId: string;
  sessionId: string;
  at: string;
  freeBytes: number;
  minFreeBytes: number;
  message: string;
}

const DELETION_COLUMNS = `recording_id AS recordingId, session_id AS sessionId, file_name AS fileName, size, sha256,
  task_id AS taskId, reason, deleted_at AS deletedAt`;
const STOP_COLUMNS = `recording_id AS recordingId, session_id AS sessionId, at, free_bytes AS freeBytes,
  min_free_bytes AS minFreeBytes, message`;

/** The retention part's SQL (tables from station migration v6). */
export class RetentionRepository {
  constructor(private readonly db: Db) {}

  /** Records a deletion before the file goes (so a crash in between still says why it is missing). */
  addDeletion(d: RetentionDeletion): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO retention_deletions (recording_id, session_id, file_name, size, sha256, task_id, reason, deleted_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(d.recordingId, d.sessionId, d.fileName, d.size, d.sha256, d.taskId, d.reason, d.deletedAt);
  }

  /** Forgets a deletion that did not happen (the unlink failed). */
  removeDeletion(recordingId: string): void {
    this.db.prepare('DELETE FROM retention_deletions WHERE recording_id = ?').run(recordingId);
  }

  getDeletion(recordingId: string): RetentionDeletion | undefined {
    return this.db
      .prepare(`SELECT ${DELETION_COLUMNS} FROM retention_deletions WHERE recording_id = ?`)
      .get(recordingId) as RetentionDeletion | undefined;
  }

  listDeletions(limit: number, sessionId?: string): RetentionDeletion[] {
    return (
      sessionId === undefined
        ? this.db
            .prepare(`SELECT ${DELETION_COLUMNS} FROM retention_deletions ORDER BY deleted_at DESC LIMIT ?`)
            .all(limit)
        : this.db
            .prepare(
              `SELECT ${DELETION_COLUMNS} FROM retention_deletions WHERE session_id = ? ORDER BY deleted_at DESC LIMIT ?`,
            )
            .all(sessionId, limit)
    ) as RetentionDeletion[];
  }

  addDiskStop(s: DiskStop): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO disk_stops (recording_id, session_id, at, free_bytes, min_free_bytes, message)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(s.recordingId, s.sessionId, s.at, s.freeBytes, s.minFreeBytes, s.message);
  }

  listDiskStops(limit: number, sessionId?: string): DiskStop[] {
    return (
      sessionId === undefined
        ? this.db.prepare(`SELECT ${STOP_COLUMNS} FROM disk_stops ORDER BY at DESC LIMIT ?`).all(limit)
        : this.db
            .prepare(`SELECT ${STOP_COLUMNS} FROM disk_stops WHERE session_id = ? ORDER BY at DESC LIMIT ?`)
            .all(sessionId, limit)
    ) as DiskStop[];
  }
}

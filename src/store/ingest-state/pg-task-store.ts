import type pg from 'pg';
import {
  BEGIN_RECEIVING_CONFLICT,
  MARK_RECEIVED_CONFLICT,
  toTask,
  type BeginReceivingInput,
  type IngestTask,
  type IngestTaskRow,
  type ReceivedFile,
} from '../ingest-task-repository.js';
import { isoOf, numberOf } from './pg-values.js';
import type { IngestTaskStore } from './types.js';

/** A row as node-postgres returns it: the columns of IngestTaskRow, with PostgreSQL's types. */
type Row = Omit<
  IngestTaskRow,
  'auto_process' | 'declared_size' | 'file_size' | 'created_at' | 'updated_at' | 'completed_at'
> & {
  auto_process: boolean;
  declared_size: string | null;
  file_size: string | null;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
};

function fromPg(r: Row): IngestTask {
  return toTask({
    ...r,
    auto_process: r.auto_process ? 1 : 0,
    declared_size: numberOf(r.declared_size),
    file_size: numberOf(r.file_size),
    created_at: isoOf(r.created_at),
    updated_at: isoOf(r.updated_at),
    completed_at: isoOf(r.completed_at),
  });
}

type MarkReceivedInput = Parameters<IngestTaskStore['markReceived']>[0];
type OpenRecordingInput = Parameters<IngestTaskStore['openRecording']>[0];

/**
 * `ingest_tasks` on PostgreSQL, with the meaning IngestTaskRepository documents. Every write is
 * one statement: an insert of a task id is `INSERT … ON CONFLICT (task_id)` (the primary key makes
 * the same task id arriving at two nodes at once one row), and every move is guarded by the state
 * it expects, its success read from the row count.
 */
export class PgIngestTaskStore implements IngestTaskStore {
  constructor(private readonly pool: pg.Pool) {}

  private async rows(sql: string, params: unknown[]): Promise<IngestTask[]> {
    const { rows } = await this.pool.query<Row>(sql, params);
    return rows.map(fromPg);
  }

  private async changed(sql: string, params: unknown[]): Promise<boolean> {
    const { rowCount } = await this.pool.query(sql, params);
    return rowCount === 1;
  }

  async get(taskId: string): Promise<IngestTask | undefined> {
    return (await this.rows('SELECT * FROM ingest_tasks WHERE task_id = $1', [taskId]))[0];
  }

  async getByUploadRef(uploadRef: string): Promise<IngestTask | undefined> {
    const sql = 'SELECT * FROM ingest_tasks WHERE upload_ref = $1 ORDER BY created_at DESC, seq DESC LIMIT 1';
    return (await this.rows(sql, [uploadRef]))[0];
  }

  listRecent(limit: number, owner?: string | null): Promise<IngestTask[]> {
    return owner
      ? this.rows(
          `SELECT * FROM ingest_tasks
           WHERE part_of IS NULL AND (owner_key_sha256 IS NULL OR owner_key_sha256 = $2)
           ORDER BY created_at DESC, seq DESC LIMIT $1`,
          [limit, owner],
        )
      : this.rows(
          'SELECT * FROM ingest_tasks WHERE part_of IS NULL ORDER BY created_at DESC, seq DESC LIMIT $1',
          [limit],
        );
  }

  listReceiving(protocol: 'multipart' | 'tus'): Promise<IngestTask[]> {
    return this.rows(
      "SELECT * FROM ingest_tasks WHERE state = 'receiving' AND protocol = $1 AND upload_ref <> 'parts' ORDER BY seq",
      [protocol],
    );
  }

  beginReceiving(input: BeginReceivingInput, now = new Date()): Promise<boolean> {
    return this.changed(
      `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
         auto_process, upload_time, declared_size, declared_sha256, owner_key_sha256, part_of,
         part_index, recording_id, created_at, updated_at)
       VALUES ($1, 'receiving', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
       ${BEGIN_RECEIVING_CONFLICT}`,
      [
        input.taskId,
        input.protocol,
        input.uploadRef,
        input.fileName,
        input.sessionName,
        input.autoProcess,
        input.uploadTime,
        input.declaredSize,
        input.declaredSha256,
        input.ownerKeySha256 ?? null,
        input.partOf ?? null,
        input.partIndex ?? null,
        input.recordingId ?? null,
        now,
      ],
    );
  }

  markReceived(input: MarkReceivedInput, file: ReceivedFile, now = new Date()): Promise<boolean> {
    return this.changed(
      `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
         auto_process, upload_time, declared_size, declared_sha256, file_size, sha256, file_path,
         owner_key_sha256, part_of, part_index, recording_id, created_at, updated_at, completed_at)
       VALUES ($1, 'received', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $17)
       ${MARK_RECEIVED_CONFLICT}`,
      [
        input.taskId,
        input.protocol,
        input.uploadRef,
        file.fileName,
        input.sessionName,
        input.autoProcess,
        input.uploadTime,
        input.declaredSize ?? null,
        input.declaredSha256 ?? null,
        file.fileSize,
        file.sha256,
        file.filePath,
        input.ownerKeySha256 ?? null,
        input.partOf ?? null,
        input.partIndex ?? null,
        input.recordingId ?? null,
        now,
      ],
    );
  }

  declareSha256(taskId: string, uploadRef: string, sha256: string, now = new Date()): Promise<boolean> {
    return this.changed(
      `UPDATE ingest_tasks SET declared_sha256 = $1, updated_at = $2
       WHERE task_id = $3 AND upload_ref = $4 AND state = 'receiving'`,
      [sha256, now, taskId, uploadRef],
    );
  }

  async openRecording(input: OpenRecordingInput, now = new Date()): Promise<IngestTask | undefined> {
    await this.pool.query(
      `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
         auto_process, upload_time, owner_key_sha256, recording_id, parts_expected, created_at, updated_at)
       VALUES ($1, 'receiving', $2, 'parts', $3, $4, $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (task_id) DO UPDATE SET
         parts_expected = COALESCE(excluded.parts_expected, ingest_tasks.parts_expected),
         updated_at = excluded.updated_at
       WHERE ingest_tasks.state = 'receiving' AND ingest_tasks.upload_ref = 'parts'`,
      [
        input.taskId,
        input.protocol,
        input.fileName,
        input.sessionName,
        input.autoProcess,
        input.uploadTime,
        input.ownerKeySha256 ?? null,
        input.recordingId ?? null,
        input.partsExpected,
        now,
      ],
    );
    return this.get(input.taskId);
  }

  listParts(taskId: string): Promise<IngestTask[]> {
    return this.rows('SELECT * FROM ingest_tasks WHERE part_of = $1 ORDER BY part_index', [taskId]);
  }

  listOpenRecordings(): Promise<IngestTask[]> {
    return this.rows(
      "SELECT * FROM ingest_tasks WHERE state = 'receiving' AND upload_ref = 'parts' ORDER BY seq",
      [],
    );
  }

  deleteReceiving(taskId: string, uploadRef: string): Promise<boolean> {
    return this.changed(
      "DELETE FROM ingest_tasks WHERE task_id = $1 AND upload_ref = $2 AND state = 'receiving'",
      [taskId, uploadRef],
    );
  }
}

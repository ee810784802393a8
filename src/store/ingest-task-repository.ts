import type { Db } from './open-database.js';

/** How an upload reached the ingest server. */
export type IngestProtocol = 'multipart' | 'tus';

/** The receiving side of a task: bytes arriving, or the file complete, verified and in place. */
export type IngestTaskState = 'receiving' | 'received';

/** One upload task as the ingest server stores it. */
export interface IngestTask {
  taskId: string;
  state: IngestTaskState;
  protocol: IngestProtocol;
  /** The tus upload id, or a random token owning a multipart request. */
  uploadRef: string;
  fileName: string;
  sessionName: string | null;
  autoProcess: boolean;
  /** As the client sent it (the original client sends `YYYY-MM-DD HH:MM:SS`). */
  uploadTime: string | null;
  declaredSize: number | null;
  declaredSha256: string | null;
  fileSize: number | null;
  sha256: string | null;
  /** Relative to the data directory: `<task_id>/<file name>`; set once received. */
  filePath: string | null;
  /** sha256 (hex) of the API key that created the upload; null when the server has no keys. */
  ownerKeySha256: string | null;
  /** For a part of a segmented recording: the recording's task id; else null. */
  partOf: string | null;
  /** For a part: its 0-based segment index; else null. */
  partIndex: number | null;
  /** For a segmented recording's task: how many parts it has, once the last one said; else null. */
  partsExpected: number | null;
  /** The station's recording id, when the upload named one. */
  recordingId: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

/** What a new upload declares when it starts. */
export interface BeginReceivingInput {
  taskId: string;
  protocol: IngestProtocol;
  uploadRef: string;
  fileName: string;
  sessionName: string | null;
  autoProcess: boolean;
  uploadTime: string | null;
  declaredSize: number | null;
  declaredSha256: string | null;
  /** sha256 (hex) of the API key that created the upload; absent or null: no keys. */
  ownerKeySha256?: string | null;
  /** For a part of a segmented recording: the recording's task id and the part's index. */
  partOf?: string | null;
  partIndex?: number | null;
  recordingId?: string | null;
}

/** The facts of a complete, verified file. */
export interface ReceivedFile {
  fileName: string;
  fileSize: number;
  sha256: string;
  filePath: string;
}

/** A row of `ingest_tasks` as SQLite returns it (the PostgreSQL store converts its rows to this). */
export interface IngestTaskRow {
  task_id: string;
  state: string;
  protocol: string;
  upload_ref: string;
  file_name: string;
  session_name: string | null;
  auto_process: number;
  upload_time: string | null;
  declared_size: number | null;
  declared_sha256: string | null;
  file_size: number | null;
  sha256: string | null;
  file_path: string | null;
  owner_key_sha256: string | null;
  part_of: string | null;
  part_index: number | null;
  parts_expected: number | null;
  recording_id: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export function toTask(row: IngestTaskRow): IngestTask {
  return {
    taskId: row.task_id,
    state: row.state === 'received' ? 'received' : 'receiving',
    protocol: row.protocol === 'tus' ? 'tus' : 'multipart',
    uploadRef: row.upload_ref,
    fileName: row.file_name,
    sessionName: row.session_name,
    autoProcess: row.auto_process === 1,
    uploadTime: row.upload_time,
    declaredSize: row.declared_size,
    declaredSha256: row.declared_sha256,
    fileSize: row.file_size,
    sha256: row.sha256,
    filePath: row.file_path,
    ownerKeySha256: row.owner_key_sha256,
    partOf: row.part_of,
    partIndex: row.part_index,
    partsExpected: row.parts_expected,
    recordingId: row.recording_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
  };
}

/** What a new upload of an existing task does to its row: it takes over a task still receiving, nothing else. */
export const BEGIN_RECEIVING_CONFLICT = `ON CONFLICT (task_id) DO UPDATE SET
  protocol = excluded.protocol, upload_ref = excluded.upload_ref,
  file_name = excluded.file_name, session_name = excluded.session_name,
  auto_process = excluded.auto_process, upload_time = excluded.upload_time,
  declared_size = excluded.declared_size, declared_sha256 = excluded.declared_sha256,
  owner_key_sha256 = excluded.owner_key_sha256, updated_at = excluded.updated_at
WHERE ingest_tasks.state = 'receiving'`;

/**
 * What marking a task received does to an existing row (SQL both backends read alike): only a
 * receiving row changes; what the first upload declared (owner, part, digests) is kept.
 */
export const MARK_RECEIVED_CONFLICT = `ON CONFLICT (task_id) DO UPDATE SET
  state = 'received', protocol = excluded.protocol, upload_ref = excluded.upload_ref,
  file_name = excluded.file_name, session_name = excluded.session_name,
  auto_process = excluded.auto_process, upload_time = excluded.upload_time,
  declared_size = COALESCE(excluded.declared_size, ingest_tasks.declared_size),
  declared_sha256 = COALESCE(excluded.declared_sha256, ingest_tasks.declared_sha256),
  file_size = excluded.file_size, sha256 = excluded.sha256, file_path = excluded.file_path,
  owner_key_sha256 = COALESCE(ingest_tasks.owner_key_sha256, excluded.owner_key_sha256),
  part_of = COALESCE(ingest_tasks.part_of, excluded.part_of),
  part_index = COALESCE(ingest_tasks.part_index, excluded.part_index),
  recording_id = COALESCE(ingest_tasks.recording_id, excluded.recording_id),
  updated_at = excluded.updated_at, completed_at = excluded.completed_at
WHERE ingest_tasks.state = 'receiving'`;

/** Typed access to the ingest server's `ingest_tasks` table. */
export class IngestTaskRepository {
  constructor(private readonly db: Db) {}

  /** The task, or undefined when unknown. */
  get(taskId: string): IngestTask | undefined {
    const row = this.db.prepare('SELECT * FROM ingest_tasks WHERE task_id = ?').get(taskId) as
      IngestTaskRow | undefined;
    return row ? toTask(row) : undefined;
  }

  /** The task owned by an upload (tus id or multipart token), or undefined. */
  getByUploadRef(uploadRef: string): IngestTask | undefined {
    const row = this.db
      .prepare('SELECT * FROM ingest_tasks WHERE upload_ref = ? ORDER BY created_at DESC LIMIT 1')
      .get(uploadRef) as IngestTaskRow | undefined;
    return row ? toTask(row) : undefined;
  }

  /** Most recent first, parts left out; with `owner`, only that key's tasks and those without an owner. */
  listRecent(limit: number, owner?: string | null): IngestTask[] {
    const rows = (
      owner
        ? this.db
            .prepare(
              `SELECT * FROM ingest_tasks
               WHERE part_of IS NULL AND (owner_key_sha256 IS NULL OR owner_key_sha256 = ?)
               ORDER BY created_at DESC, rowid DESC LIMIT ?`,
            )
            .all(owner, limit)
        : this.db
            .prepare(
              'SELECT * FROM ingest_tasks WHERE part_of IS NULL ORDER BY created_at DESC, rowid DESC LIMIT ?',
            )
            .all(limit)
    ) as IngestTaskRow[];
    return rows.map(toTask);
  }

  /** Uploads still receiving through one protocol (for start-up recovery and expiry); not recordings' tasks. */
  listReceiving(protocol: IngestProtocol): IngestTask[] {
    const rows = this.db
      .prepare(
        "SELECT * FROM ingest_tasks WHERE state = 'receiving' AND protocol = ? AND upload_ref != 'parts'",
      )
      .all(protocol) as IngestTaskRow[];
    return rows.map(toTask);
  }

  /**
   * Records that an upload started for a task, replacing a previous unfinished upload of the
   * same task. Returns false (and changes nothing) when the task is already received.
   */
  beginReceiving(input: BeginReceivingInput, now = new Date()): boolean {
    const at = now.toISOString();
    const result = this.db
      .prepare(
        `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
           auto_process, upload_time, declared_size, declared_sha256, owner_key_sha256, part_of,
           part_index, recording_id, created_at, updated_at)
         VALUES (@taskId, 'receiving', @protocol, @uploadRef, @fileName, @sessionName,
           @autoProcess, @uploadTime, @declaredSize, @declaredSha256, @owner, @partOf, @partIndex,
           @recordingId, @at, @at)
         ${BEGIN_RECEIVING_CONFLICT}`,
      )
      .run({
        taskId: input.taskId,
        protocol: input.protocol,
        uploadRef: input.uploadRef,
        fileName: input.fileName,
        sessionName: input.sessionName,
        uploadTime: input.uploadTime,
        declaredSize: input.declaredSize,
        declaredSha256: input.declaredSha256,
        autoProcess: input.autoProcess ? 1 : 0,
        owner: input.ownerKeySha256 ?? null,
        partOf: input.partOf ?? null,
        partIndex: input.partIndex ?? null,
        recordingId: input.recordingId ?? null,
        at,
      });
    return result.changes === 1;
  }

  /**
   * Marks the task received with its verified file, creating the row if the upload never
   * announced itself. Returns false when the task was already received (nothing changes).
   */
  markReceived(
    input: Omit<BeginReceivingInput, 'declaredSize' | 'declaredSha256'> & {
      declaredSize?: number | null;
      declaredSha256?: string | null;
    },
    file: ReceivedFile,
    now = new Date(),
  ): boolean {
    const at = now.toISOString();
    const result = this.db
      .prepare(
        `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
           auto_process, upload_time, declared_size, declared_sha256, file_size, sha256, file_path,
           owner_key_sha256, part_of, part_index, recording_id, created_at, updated_at, completed_at)
         VALUES (@taskId, 'received', @protocol, @uploadRef, @fileName, @sessionName, @autoProcess,
           @uploadTime, @declaredSize, @declaredSha256, @fileSize, @sha256, @filePath, @owner, @partOf,
           @partIndex, @recordingId, @at, @at, @at)
         ${MARK_RECEIVED_CONFLICT}`,
      )
      .run({
        taskId: input.taskId,
        protocol: input.protocol,
        uploadRef: input.uploadRef,
        fileName: file.fileName,
        sessionName: input.sessionName,
        autoProcess: input.autoProcess ? 1 : 0,
        uploadTime: input.uploadTime,
        declaredSize: input.declaredSize ?? null,
        declaredSha256: input.declaredSha256 ?? null,
        fileSize: file.fileSize,
        sha256: file.sha256,
        filePath: file.filePath,
        owner: input.ownerKeySha256 ?? null,
        partOf: input.partOf ?? null,
        partIndex: input.partIndex ?? null,
        recordingId: input.recordingId ?? null,
        at,
      });
    return result.changes === 1;
  }

  /**
   * Records the whole-file sha256 a client declared while its upload was still arriving (tus
   * `Upload-Sha256`), so that completion and start-up recovery compare with it. Only while
   * that upload still owns the task and it is receiving.
   */
  declareSha256(taskId: string, uploadRef: string, sha256: string, now = new Date()): boolean {
    const result = this.db
      .prepare(
        `UPDATE ingest_tasks SET declared_sha256 = ?, updated_at = ?
         WHERE task_id = ? AND upload_ref = ? AND state = 'receiving'`,
      )
      .run(sha256, now.toISOString(), taskId, uploadRef);
    return result.changes === 1;
  }

  /**
   * Opens (or keeps) the task of a segmented recording: a `receiving` row that no upload owns
   * directly (its `upload_ref` is `parts`), filled by its parts. When `partsExpected` is given
   * (the last part told the count) it is recorded. Returns the task as stored.
   */
  openRecording(
    input: Omit<BeginReceivingInput, 'uploadRef' | 'declaredSize' | 'declaredSha256'> & {
      partsExpected: number | null;
    },
    now = new Date(),
  ): IngestTask | undefined {
    const at = now.toISOString();
    this.db
      .prepare(
        `INSERT INTO ingest_tasks (task_id, state, protocol, upload_ref, file_name, session_name,
           auto_process, upload_time, owner_key_sha256, recording_id, parts_expected, created_at,
           updated_at)
         VALUES (@taskId, 'receiving', @protocol, 'parts', @fileName, @sessionName, @autoProcess,
           @uploadTime, @owner, @recordingId, @partsExpected, @at, @at)
         ON CONFLICT (task_id) DO UPDATE SET
           parts_expected = COALESCE(excluded.parts_expected, ingest_tasks.parts_expected),
           updated_at = excluded.updated_at
         WHERE ingest_tasks.state = 'receiving' AND ingest_tasks.upload_ref = 'parts'`,
      )
      .run({
        taskId: input.taskId,
        protocol: input.protocol,
        fileName: input.fileName,
        sessionName: input.sessionName,
        autoProcess: input.autoProcess ? 1 : 0,
        uploadTime: input.uploadTime,
        owner: input.ownerKeySha256 ?? null,
        recordingId: input.recordingId ?? null,
        partsExpected: input.partsExpected,
        at,
      });
    return this.get(input.taskId);
  }

  /** The parts of a segmented recording (received or still arriving), by index. */
  listParts(taskId: string): IngestTask[] {
    const rows = this.db
      .prepare('SELECT * FROM ingest_tasks WHERE part_of = ? ORDER BY part_index')
      .all(taskId) as IngestTaskRow[];
    return rows.map(toTask);
  }

  /** Segmented recordings still waiting for (or in the middle of) their join. */
  listOpenRecordings(): IngestTask[] {
    const rows = this.db
      .prepare("SELECT * FROM ingest_tasks WHERE state = 'receiving' AND upload_ref = 'parts'")
      .all() as IngestTaskRow[];
    return rows.map(toTask);
  }

  /** Forgets an unfinished upload, only if that upload still owns the task. */
  deleteReceiving(taskId: string, uploadRef: string): boolean {
    const result = this.db
      .prepare("DELETE FROM ingest_tasks WHERE task_id = ? AND upload_ref = ? AND state = 'receiving'")
      .run(taskId, uploadRef);
    return result.changes === 1;
  }
}

import type { Db } from './open-database.js';

/** How a segmented recording's task is sent: part by part, or as the joined file after Stop. */
export type RecordingUploadMode = 'parts' | 'joined';

/** A segmented recording's upload task (station v9). */
export interface UploadRecordingRecord {
  taskId: string;
  mode: RecordingUploadMode;
  /** How many parts the recording has; null while it records. */
  partsTotal: number | null;
  /** The local joined recording, once finalised. */
  joinedFilePath: string | null;
  /** The part being written and sent while it grows (station v11), and its tus URL; else null. */
  openPartIndex: number | null;
  openPartUrl: string | null;
  createdAt: string;
}

/** Where one part's upload stands. */
export type UploadPartState = 'pending' | 'uploading' | 'uploaded';

/** One part of a segmented recording's upload task (station v9). */
export interface UploadPartRecord {
  taskId: string;
  index: number;
  filePath: string;
  fileName: string;
  fileSize: number;
  fileMtimeMs: number;
  state: UploadPartState;
  bytesSent: number;
  protocol: string | null;
  remoteUrl: string | null;
  sha256: string | null;
  verifiedBy: string | null;
  /** The segment_count the part was sent with (null: sent before the count was known). */
  sentCount: number | null;
  createdAt: string;
  uploadedAt: string | null;
}

/** The fields of a part that change while it is sent. */
export type UploadPartChanges = Partial<
  Pick<
    UploadPartRecord,
    'state' | 'bytesSent' | 'protocol' | 'remoteUrl' | 'sha256' | 'verifiedBy' | 'sentCount' | 'uploadedAt'
  >
>;

/** Counts of a task's parts, for its view. */
export interface UploadPartCounts {
  known: number;
  uploaded: number;
  /** Parts not on the server yet, and their bytes (the backlog). */
  waiting: number;
  waitingBytes: number;
}

interface PartRow {
  task_id: string;
  part_index: number;
  file_path: string;
  file_name: string;
  file_size: number;
  file_mtime_ms: number;
  state: string;
  bytes_sent: number;
  protocol: string | null;
  remote_url: string | null;
  sha256: string | null;
  verified_by: string | null;
  sent_count: number | null;
  created_at: string;
  uploaded_at: string | null;
}

interface RecordingRow {
  task_id: string;
  mode: string;
  parts_total: number | null;
  joined_file_path: string | null;
  open_part_index: number | null;
  open_part_url: string | null;
  created_at: string;
}

const PART_COLUMNS: Record<keyof UploadPartChanges, keyof PartRow> = {
  state: 'state',
  bytesSent: 'bytes_sent',
  protocol: 'protocol',
  remoteUrl: 'remote_url',
  sha256: 'sha256',
  verifiedBy: 'verified_by',
  sentCount: 'sent_count',
  uploadedAt: 'uploaded_at',
};

function partOf(row: PartRow): UploadPartRecord {
  return {
    taskId: row.task_id,
    index: row.part_index,
    filePath: row.file_path,
    fileName: row.file_name,
    fileSize: row.file_size,
    fileMtimeMs: row.file_mtime_ms,
    state: row.state === 'uploaded' || row.state === 'uploading' ? row.state : 'pending',
    bytesSent: row.bytes_sent,
    protocol: row.protocol,
    remoteUrl: row.remote_url,
    sha256: row.sha256,
    verifiedBy: row.verified_by,
    sentCount: row.sent_count,
    createdAt: row.created_at,
    uploadedAt: row.uploaded_at,
  };
}

function recordingOf(row: RecordingRow): UploadRecordingRecord {
  return {
    taskId: row.task_id,
    mode: row.mode === 'joined' ? 'joined' : 'parts',
    partsTotal: row.parts_total,
    joinedFilePath: row.joined_file_path,
    openPartIndex: row.open_part_index,
    openPartUrl: row.open_part_url,
    createdAt: row.created_at,
  };
}

/** Segmented recordings' upload tasks and their parts in the station's database. */
export class UploadPartRepository {
  constructor(private readonly db: Db) {}

  /** Marks a task (just inserted) as a segmented recording's. */
  openRecording(taskId: string, at: string): UploadRecordingRecord {
    this.db
      .prepare(
        `INSERT INTO upload_task_recordings (task_id, created_at) VALUES (?, ?) ON CONFLICT (task_id) DO NOTHING`,
      )
      .run(taskId, at);
    return this.recording(taskId) as UploadRecordingRecord;
  }

  recording(taskId: string): UploadRecordingRecord | undefined {
    const row = this.db.prepare('SELECT * FROM upload_task_recordings WHERE task_id = ?').get(taskId) as
      RecordingRow | undefined;
    return row ? recordingOf(row) : undefined;
  }

  /** Records the part count (when not known yet) and the joined file (when given). */
  closeRecording(
    taskId: string,
    count: number,
    joinedFilePath: string | null,
  ): UploadRecordingRecord | undefined {
    this.db
      .prepare(
        `UPDATE upload_task_recordings SET parts_total = COALESCE(parts_total, @count),
           joined_file_path = COALESCE(@joined, joined_file_path) WHERE task_id = @taskId`,
      )
      .run({ taskId, count, joined: joinedFilePath });
    return this.recording(taskId);
  }

  /** The tus upload of the part being written (index and URL), or none (nulls). */
  setOpenPart(taskId: string, index: number | null, url: string | null): void {
    this.db
      .prepare('UPDATE upload_task_recordings SET open_part_index = ?, open_part_url = ? WHERE task_id = ?')
      .run(index, url, taskId);
  }

  setMode(taskId: string, mode: RecordingUploadMode): void {
    this.db.prepare('UPDATE upload_task_recordings SET mode = ? WHERE task_id = ?').run(mode, taskId);
  }

  /**
   * Adds a part (once per index: a part handed again, e.g. after a restart, keeps its row and
   * its upload's progress). True when it was new.
   */
  addPart(
    part: Pick<UploadPartRecord, 'taskId' | 'index' | 'filePath' | 'fileName' | 'fileSize' | 'fileMtimeMs'>,
    at: string,
  ): boolean {
    const { changes } = this.db
      .prepare(
        `INSERT INTO upload_task_parts (task_id, part_index, file_path, file_name, file_size, file_mtime_ms, created_at)
         VALUES (@taskId, @index, @filePath, @fileName, @fileSize, @fileMtimeMs, @at)
         ON CONFLICT (task_id, part_index) DO NOTHING`,
      )
      .run({ ...part, at });
    return changes === 1;
  }

  parts(taskId: string): UploadPartRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM upload_task_parts WHERE task_id = ? ORDER BY part_index ASC')
      .all(taskId) as PartRow[];
    return rows.map(partOf);
  }

  updatePart(taskId: string, index: number, changes: UploadPartChanges): void {
    const sets: string[] = [];
    const params: Record<string, unknown> = { taskId, index };
    for (const [key, value] of Object.entries(changes) as Array<[keyof UploadPartChanges, unknown]>) {
      if (value === undefined) continue;
      const column = PART_COLUMNS[key];
      sets.push(`${column} = @${column}`);
      params[column] = value;
    }
    if (sets.length === 0) return;
    this.db
      .prepare(
        `UPDATE upload_task_parts SET ${sets.join(', ')} WHERE task_id = @taskId AND part_index = @index`,
      )
      .run(params);
  }

  counts(taskId: string): UploadPartCounts {
    const row = this.db
      .prepare(
        `SELECT COUNT(*) AS known,
           COALESCE(SUM(state = 'uploaded'), 0) AS uploaded,
           COALESCE(SUM(state != 'uploaded'), 0) AS waiting,
           COALESCE(SUM(CASE WHEN state != 'uploaded' THEN file_size - bytes_sent ELSE 0 END), 0) AS waiting_bytes
         FROM upload_task_parts WHERE task_id = ?`,
      )
      .get(taskId) as { known: number; uploaded: number; waiting: number; waiting_bytes: number };
    return {
      known: row.known,
      uploaded: row.uploaded,
      waiting: row.waiting,
      waitingBytes: Math.max(0, row.waiting_bytes),
    };
  }

  /**
   * The task's file fields, for the view and for a fallback to the joined file: its path,
   * size and mtime (the sum of the parts while they are sent part by part).
   */
  setTaskFile(
    taskId: string,
    file: { filePath: string; fileName: string; size: number; mtimeMs: number },
  ): void {
    this.db
      .prepare(
        `UPDATE upload_tasks SET file_path = @filePath, file_name = @fileName, file_size = @size,
           size = @size, file_mtime_ms = @mtimeMs WHERE id = @taskId`,
      )
      .run({ taskId, ...file });
  }

  /** Only the size fields (the parts' sum grows while recording). */
  setTaskSize(taskId: string, size: number): void {
    this.db
      .prepare('UPDATE upload_tasks SET file_size = @size, size = @size WHERE id = @taskId')
      .run({ taskId, size });
  }
}

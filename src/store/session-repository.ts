import { randomBytes } from 'node:crypto';
import type { Db } from './open-database.js';

/** A recording session: a named folder with a stable id. */
export interface SessionRecord {
  id: string;
  name: string;
  folder: string;
  createdAt: string;
  updatedAt: string;
}

/** Where a recording is in its life: being recorded, being checked, usable, or lost. */
export type RecordingState = 'recording' | 'finalizing' | 'ready' | 'failed';

/** One recorded file of a session, with what the station knows about it and its upload. */
export interface RecordingRecord {
  id: string;
  sessionId: string;
  recorder: string;
  /** True when started or stopped outside StreamAI (OBS's own button, another websocket client). */
  external: boolean;
  state: RecordingState;
  startedAt: string;
  stoppedAt: string | null;
  /** Where the recorder wrote the file, before it was moved into the session folder. */
  sourcePath: string | null;
  /** The recording process (ffmpeg), so that a restart can stop one left running by a crash. */
  recorderPid: number | null;
  filePath: string | null;
  fileName: string | null;
  size: number | null;
  duration: number | null;
  sha256: string | null;
  thumbnailPath: string | null;
  technical: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
  uploadTaskId: string | null;
  uploadState: string | null;
  uploadError: { code: string; message: string } | null;
  /** When the upload was enqueued (the metadata's `upload_time`). */
  uploadQueuedAt: string | null;
  /** When the server confirmed the upload. */
  uploadedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The fields of a recording that may change after it is created. */
export type RecordingChanges = Partial<
  Omit<RecordingRecord, 'id' | 'sessionId' | 'recorder' | 'createdAt' | 'updatedAt'>
>;

interface SessionRow {
  id: string;
  name: string;
  folder: string;
  created_at: string;
  updated_at: string;
}

interface RecordingRow {
  id: string;
  session_id: string;
  recorder: string;
  external: number;
  state: RecordingState;
  started_at: string;
  stopped_at: string | null;
  source_path: string | null;
  recorder_pid: number | null;
  file_path: string | null;
  file_name: string | null;
  size: number | null;
  duration: number | null;
  sha256: string | null;
  thumbnail_path: string | null;
  technical: string | null;
  error_code: string | null;
  error_message: string | null;
  upload_task_id: string | null;
  upload_state: string | null;
  upload_error: string | null;
  upload_queued_at: string | null;
  uploaded_at: string | null;
  created_at: string;
  updated_at: string;
}

/** A random, sortable-enough id with a readable prefix ("ses_…", "rec_…"). */
function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(6).toString('hex')}`;
}

function parseJson<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    name: row.name,
    folder: row.folder,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toRecording(row: RecordingRow): RecordingRecord {
  return {
    id: row.id,
    sessionId: row.session_id,
    recorder: row.recorder,
    external: row.external === 1,
    state: row.state,
    startedAt: row.started_at,
    stoppedAt: row.stopped_at,
    sourcePath: row.source_path,
    recorderPid: row.recorder_pid,
    filePath: row.file_path,
    fileName: row.file_name,
    size: row.size,
    duration: row.duration,
    sha256: row.sha256,
    thumbnailPath: row.thumbnail_path,
    technical: parseJson<Record<string, unknown>>(row.technical),
    error:
      row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? row.error_code },
    uploadTaskId: row.upload_task_id,
    uploadState: row.upload_state,
    uploadError: parseJson<{ code: string; message: string }>(row.upload_error),
    uploadQueuedAt: row.upload_queued_at,
    uploadedAt: row.uploaded_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** One upload task of a session's recording, as session_metadata.json lists it. */
export interface SessionUploadTask {
  taskId: string;
  recordingId: string;
  fileName: string;
  fileSize: number;
  sha256: string | null;
  state: string;
  createdAt: string;
  completedAt: string | null;
  error: { code: string; message: string } | null;
  /** Sent in parts while it recorded (station v9, mode `parts`): how many (null until known); else undefined. */
  parts?: number | null;
}

/** Sessions and recordings in the station database (schema: station v2). */
export class SessionRepository {
  constructor(private readonly db: Db) {}

  /** The session of that name, created (with a new stable id) if it does not exist yet. */
  ensureSession(name: string, folder: string, now = new Date().toISOString()): SessionRecord {
    const existing = this.findSessionByName(name);
    if (existing) return existing;
    const id = newId('ses');
    this.db
      .prepare('INSERT INTO sessions (id, name, folder, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
      .run(id, name, folder, now, now);
    return { id, name, folder, createdAt: now, updatedAt: now };
  }

  findSessionByName(name: string): SessionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE name = ?').get(name) as SessionRow | undefined;
    return row ? toSession(row) : undefined;
  }

  getSession(id: string): SessionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM sessions WHERE id = ?').get(id) as SessionRow | undefined;
    return row ? toSession(row) : undefined;
  }

  /** Most recently created first. */
  listSessions(limit = 1000): SessionRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM sessions ORDER BY created_at DESC, id DESC LIMIT ?')
      .all(limit) as SessionRow[];
    return rows.map(toSession);
  }

  touchSession(id: string, now = new Date().toISOString()): void {
    this.db.prepare('UPDATE sessions SET updated_at = ? WHERE id = ?').run(now, id);
  }

  createRecording(input: {
    sessionId: string;
    recorder: string;
    external: boolean;
    startedAt: string;
    sourcePath?: string | null;
    recorderPid?: number | null;
  }): RecordingRecord {
    const id = newId('rec');
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO recordings (id, session_id, recorder, external, state, started_at, source_path, recorder_pid, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'recording', ?, ?, ?, ?, ?)`,
      )
      .run(
        id,
        input.sessionId,
        input.recorder,
        input.external ? 1 : 0,
        input.startedAt,
        input.sourcePath ?? null,
        input.recorderPid ?? null,
        now,
        now,
      );
    this.touchSession(input.sessionId, now);
    const created = this.getRecording(id);
    if (!created) throw new Error(`recording ${id} vanished after insert`);
    return created;
  }

  getRecording(id: string): RecordingRecord | undefined {
    const row = this.db.prepare('SELECT * FROM recordings WHERE id = ?').get(id) as RecordingRow | undefined;
    return row ? toRecording(row) : undefined;
  }

  findRecordingByUploadTask(taskId: string): RecordingRecord | undefined {
    const row = this.db.prepare('SELECT * FROM recordings WHERE upload_task_id = ?').get(taskId) as
      RecordingRow | undefined;
    return row ? toRecording(row) : undefined;
  }

  /** Oldest first, the order they were recorded in. */
  listRecordings(sessionId: string): RecordingRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM recordings WHERE session_id = ? ORDER BY started_at, id')
      .all(sessionId) as RecordingRow[];
    return rows.map(toRecording);
  }

  /** Every recording, most recent first. */
  listAllRecordings(limit = 1000): RecordingRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM recordings ORDER BY started_at DESC, id DESC LIMIT ?')
      .all(limit) as RecordingRow[];
    return rows.map(toRecording);
  }

  /**
   * Every upload task of the session's recordings, oldest first (the upload service's table is
   * the history: a recording uploaded twice has two tasks). For session_metadata.json.
   */
  listSessionUploadTasks(sessionId: string): SessionUploadTask[] {
    const rows = this.db
      .prepare(
        `SELECT t.id, t.recording_id, t.file_name, t.file_size, t.sha256, t.state, t.created_at,
                t.completed_at, t.last_error_code, t.last_error_message,
                p.task_id AS parts_task, p.parts_total
         FROM upload_tasks t JOIN recordings r ON r.id = t.recording_id
         LEFT JOIN upload_task_recordings p ON p.task_id = t.id AND p.mode = 'parts'
         WHERE r.session_id = ? ORDER BY t.created_at, t.rowid`,
      )
      .all(sessionId) as Array<{
      id: string;
      recording_id: string;
      file_name: string;
      file_size: number;
      sha256: string | null;
      state: string;
      created_at: string;
      completed_at: string | null;
      last_error_code: string | null;
      last_error_message: string | null;
      parts_task: string | null;
      parts_total: number | null;
    }>;
    return rows.map((row) => ({
      ...(row.parts_task !== null ? { parts: row.parts_total } : {}),
      taskId: row.id,
      recordingId: row.recording_id,
      fileName: row.file_name,
      fileSize: row.file_size,
      sha256: row.sha256,
      state: row.state,
      createdAt: row.created_at,
      completedAt: row.completed_at,
      error:
        row.last_error_code === null
          ? null
          : { code: row.last_error_code, message: row.last_error_message ?? row.last_error_code },
    }));
  }

  /** Recordings not yet finished (recording or finalizing): what a restart must pick up. */
  listUnfinishedRecordings(recorder?: string): RecordingRecord[] {
    const rows = (
      recorder === undefined
        ? this.db.prepare(
            "SELECT * FROM recordings WHERE state IN ('recording', 'finalizing') ORDER BY started_at",
          )
        : this.db
            .prepare(
              "SELECT * FROM recordings WHERE state IN ('recording', 'finalizing') AND recorder = ? ORDER BY started_at",
            )
            .bind(recorder)
    ).all() as RecordingRow[];
    return rows.map(toRecording);
  }

  updateRecording(id: string, changes: RecordingChanges): RecordingRecord {
    const columns: Record<string, unknown> = {};
    const set = (column: string, value: unknown) => {
      columns[column] = value;
    };
    if (changes.external !== undefined) set('external', changes.external ? 1 : 0);
    if (changes.state !== undefined) set('state', changes.state);
    if (changes.startedAt !== undefined) set('started_at', changes.startedAt);
    if (changes.stoppedAt !== undefined) set('stopped_at', changes.stoppedAt);
    if (changes.sourcePath !== undefined) set('source_path', changes.sourcePath);
    if (changes.recorderPid !== undefined) set('recorder_pid', changes.recorderPid);
    if (changes.filePath !== undefined) set('file_path', changes.filePath);
    if (changes.fileName !== undefined) set('file_name', changes.fileName);
    if (changes.size !== undefined) set('size', changes.size);
    if (changes.duration !== undefined) set('duration', changes.duration);
    if (changes.sha256 !== undefined) set('sha256', changes.sha256);
    if (changes.thumbnailPath !== undefined) set('thumbnail_path', changes.thumbnailPath);
    if (changes.technical !== undefined)
      set('technical', changes.technical === null ? null : JSON.stringify(changes.technical));
    if (changes.error !== undefined) {
      set('error_code', changes.error?.code ?? null);
      set('error_message', changes.error?.message ?? null);
    }
    if (changes.uploadTaskId !== undefined) set('upload_task_id', changes.uploadTaskId);
    if (changes.uploadState !== undefined) set('upload_state', changes.uploadState);
    if (changes.uploadError !== undefined)
      set('upload_error', changes.uploadError === null ? null : JSON.stringify(changes.uploadError));
    if (changes.uploadQueuedAt !== undefined) set('upload_queued_at', changes.uploadQueuedAt);
    if (changes.uploadedAt !== undefined) set('uploaded_at', changes.uploadedAt);
    const now = new Date().toISOString();
    set('updated_at', now);
    const names = Object.keys(columns);
    this.db
      .prepare(`UPDATE recordings SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE id = @id`)
      .run({ ...columns, id });
    const updated = this.getRecording(id);
    if (!updated) throw new Error(`recording ${id} not found`);
    return updated;
  }
}

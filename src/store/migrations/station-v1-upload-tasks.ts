import type { Migration } from '../open-database.js';

/**
 * Station v1: upload tasks of the upload service, and their history (every state change
 * with its time and message), which is what lets progress and history survive a restart.
 */
export const stationV1UploadTasks: Migration = {
  version: 1,
  description: 'upload tasks',
  up: (db) => {
    db.exec(`
      CREATE TABLE upload_tasks (
        id TEXT PRIMARY KEY,
        file_path TEXT NOT NULL,
        file_name TEXT NOT NULL,
        -- The file as it was when enqueued: a change is detected against these.
        file_size INTEGER NOT NULL,
        file_mtime_ms REAL NOT NULL,
        session_name TEXT,
        recording_id TEXT,
        auto_process INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        bytes_sent INTEGER NOT NULL DEFAULT 0,
        -- Bytes to send: the file's size, or the compressed copy's.
        size INTEGER NOT NULL,
        sha256 TEXT,
        protocol TEXT,
        remote_url TEXT,
        upload_path TEXT,
        compression_ratio REAL,
        last_error_code TEXT,
        last_error_message TEXT,
        -- Which process works on the task now ("host:pid"), so two processes never upload it twice.
        lease_owner TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT
      );
      CREATE INDEX upload_tasks_by_created ON upload_tasks (created_at DESC);
      CREATE INDEX upload_tasks_by_state ON upload_tasks (state);
      CREATE INDEX upload_tasks_by_file ON upload_tasks (file_path);
      CREATE TABLE upload_task_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task_id TEXT NOT NULL REFERENCES upload_tasks (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        state TEXT NOT NULL,
        message TEXT
      );
      CREATE INDEX upload_task_events_by_task ON upload_task_events (task_id, id);
    `);
  },
};

import type { Migration } from '../open-database.js';

/**
 * Station v9 (issue 11, upload while recording): a segmented recording is ONE upload task
 * whose parts are sent as they close. `upload_task_recordings` marks such a task: how many
 * parts it has (null until the recording stopped), the local joined file once there is one,
 * and `mode`: `parts` (sent part by part) or `joined` (a server that takes no parts gets the
 * joined file after Stop, as an ordinary upload). `upload_task_parts` holds each part: its
 * file, where its upload stands (`pending` → `uploading` → `uploaded`), its tus URL to
 * resume and its confirmed sha256, so a station killed mid-recording re-sends none of the
 * parts the server already has.
 */
export const stationV9UploadParts: Migration = {
  version: 9,
  description: 'parts of segmented recording uploads',
  up: (db) => {
    db.exec(`
      CREATE TABLE upload_task_recordings (
        task_id TEXT PRIMARY KEY REFERENCES upload_tasks (id) ON DELETE CASCADE,
        mode TEXT NOT NULL DEFAULT 'parts',
        parts_total INTEGER,
        joined_file_path TEXT,
        created_at TEXT NOT NULL
      );
      CREATE TABLE upload_task_parts (
        task_id TEXT NOT NULL REFERENCES upload_tasks (id) ON DELETE CASCADE,
        part_index INTEGER NOT NULL,
        file_path TEXT NOT NULL,
        file_name TEXT NOT NULL,
        file_size INTEGER NOT NULL,
        file_mtime_ms REAL NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        bytes_sent INTEGER NOT NULL DEFAULT 0,
        protocol TEXT,
        remote_url TEXT,
        sha256 TEXT,
        verified_by TEXT,
        -- 1 once the part was sent carrying segment_count (the last part must, for the server to join).
        sent_count INTEGER,
        created_at TEXT NOT NULL,
        uploaded_at TEXT,
        PRIMARY KEY (task_id, part_index)
      );
    `);
  },
};

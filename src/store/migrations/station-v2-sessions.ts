import type { Migration } from '../open-database.js';

/**
 * Station v2: recording sessions and their recordings. A session is a named folder under
 * RECORDINGS_PATH; its id is generated once and stored, so it never changes across restarts.
 * A recording row exists from the moment recording starts, so a crash or an OBS disconnect
 * mid-recording leaves a trace that is finished when the file shows up.
 */
export const stationV2Sessions: Migration = {
  version: 2,
  description: 'sessions',
  up: (db) => {
    db.exec(`
      CREATE TABLE sessions (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL UNIQUE,
        folder      TEXT NOT NULL,
        created_at  TEXT NOT NULL,
        updated_at  TEXT NOT NULL
      );

      CREATE TABLE recordings (
        id              TEXT PRIMARY KEY,
        session_id      TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        recorder        TEXT NOT NULL,
        external        INTEGER NOT NULL DEFAULT 0,
        state           TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        stopped_at      TEXT,
        source_path     TEXT,
        recorder_pid    INTEGER,
        file_path       TEXT,
        file_name       TEXT,
        size            INTEGER,
        duration        REAL,
        sha256          TEXT,
        thumbnail_path  TEXT,
        technical       TEXT,
        error_code      TEXT,
        error_message   TEXT,
        upload_task_id  TEXT,
        upload_state    TEXT,
        upload_error    TEXT,
        upload_queued_at TEXT,
        uploaded_at     TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL
      );
      CREATE INDEX recordings_session ON recordings(session_id, started_at);
      CREATE INDEX recordings_state ON recordings(state);
      CREATE INDEX recordings_upload_task ON recordings(upload_task_id);
    `);
  },
};

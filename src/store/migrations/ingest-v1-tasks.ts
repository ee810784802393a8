import type { Migration } from '../open-database.js';

/**
 * Ingest v1: one row per upload task received by the ingest server. `state` is the receiving
 * side only ("receiving" while bytes arrive, "received" once the file is complete, fsynced,
 * verified and renamed into place); processing state lives in the processing tables.
 */
export const ingestV1Tasks: Migration = {
  version: 1,
  description: 'ingest tasks',
  up: (db) => {
    db.exec(`
      CREATE TABLE ingest_tasks (
        task_id         TEXT PRIMARY KEY,
        state           TEXT NOT NULL,
        protocol        TEXT NOT NULL,
        -- tus upload id, or a random token for a multipart request: which upload owns the row
        upload_ref      TEXT NOT NULL,
        file_name       TEXT NOT NULL,
        session_name    TEXT,
        auto_process    INTEGER NOT NULL DEFAULT 0,
        upload_time     TEXT,
        declared_size   INTEGER,
        declared_sha256 TEXT,
        file_size       INTEGER,
        sha256          TEXT,
        -- relative to the data directory, e.g. "<task_id>/<file name>"
        file_path       TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        completed_at    TEXT
      );
      CREATE INDEX ingest_tasks_by_created ON ingest_tasks (created_at DESC, task_id);
      CREATE INDEX ingest_tasks_by_upload_ref ON ingest_tasks (upload_ref);
    `);
  },
};

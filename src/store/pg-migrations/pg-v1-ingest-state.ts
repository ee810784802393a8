import type { PgMigration } from './pg-migrate.js';

/**
 * PostgreSQL v1: the ingest state as the SQLite ingest schema has it after its v6 (tasks with
 * owners and recording parts, processing jobs with leases, the webhook queue), in one step —
 * PostgreSQL support started there. Same columns and meaning; native types where they help:
 * timestamps are timestamptz (read back as the same ISO strings), JSON columns jsonb, byte
 * counts bigint. `seq` orders rows created in the same millisecond, as SQLite's rowid does.
 */
export const pgV1IngestState: PgMigration = {
  version: 1,
  description: 'ingest tasks, processing jobs, webhook queue',
  sql: `
    CREATE TABLE ingest_tasks (
      task_id          TEXT PRIMARY KEY,
      seq              BIGSERIAL NOT NULL,
      state            TEXT NOT NULL CHECK (state IN ('receiving', 'received')),
      protocol         TEXT NOT NULL,
      -- tus upload id, a random token for a multipart request, or 'parts' for a segmented recording
      upload_ref       TEXT NOT NULL,
      file_name        TEXT NOT NULL,
      session_name     TEXT,
      auto_process     BOOLEAN NOT NULL DEFAULT FALSE,
      upload_time      TEXT,
      declared_size    BIGINT,
      declared_sha256  TEXT,
      file_size        BIGINT,
      sha256           TEXT,
      file_path        TEXT,
      owner_key_sha256 TEXT,
      part_of          TEXT,
      part_index       INTEGER,
      parts_expected   INTEGER,
      recording_id     TEXT,
      created_at       TIMESTAMPTZ NOT NULL,
      updated_at       TIMESTAMPTZ NOT NULL,
      completed_at     TIMESTAMPTZ
    );
    CREATE INDEX ingest_tasks_by_created ON ingest_tasks (created_at DESC, seq DESC);
    CREATE INDEX ingest_tasks_by_upload_ref ON ingest_tasks (upload_ref);
    CREATE INDEX ingest_tasks_by_part_of ON ingest_tasks (part_of, part_index);

    CREATE TABLE processing_jobs (
      task_id          TEXT PRIMARY KEY,
      state            TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
      file_path        TEXT NOT NULL,
      output_dir       TEXT NOT NULL,
      attempt          INTEGER NOT NULL DEFAULT 0,
      progress         DOUBLE PRECISION NOT NULL DEFAULT 0,
      steps            JSONB NOT NULL DEFAULT '[]',
      report           JSONB,
      outputs          JSONB NOT NULL DEFAULT '[]',
      error_code       TEXT,
      error_message    TEXT,
      child_pid        INTEGER,
      lease_owner      TEXT,
      -- ms since the epoch, as the SQLite schema and the lease code count
      lease_expires_at BIGINT,
      queued_at        TIMESTAMPTZ NOT NULL,
      started_at       TIMESTAMPTZ,
      finished_at      TIMESTAMPTZ,
      updated_at       TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX processing_jobs_by_queue ON processing_jobs (state, queued_at, task_id);

    CREATE TABLE webhook_events (
      id      TEXT PRIMARY KEY,
      seq     BIGSERIAL NOT NULL,
      type    TEXT NOT NULL,
      time    TEXT NOT NULL,
      body    TEXT NOT NULL,
      summary TEXT NOT NULL
    );
    CREATE INDEX webhook_events_by_time ON webhook_events (time DESC, seq DESC);
    CREATE TABLE webhook_deliveries (
      id               BIGSERIAL PRIMARY KEY,
      event_id         TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
      target_kind      TEXT NOT NULL CHECK (target_kind IN ('webhook', 'discord', 'ntfy')),
      target_url       TEXT NOT NULL,
      state            TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  BIGINT NOT NULL,
      lease_owner      TEXT,
      lease_expires_at BIGINT,
      last_status      INTEGER,
      last_error       TEXT,
      created_at       TEXT NOT NULL,
      delivered_at     TEXT,
      UNIQUE (event_id, target_kind, target_url)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
    CREATE TABLE webhook_attempts (
      id          BIGSERIAL PRIMARY KEY,
      delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
      at          TEXT NOT NULL,
      status      INTEGER,
      error       TEXT,
      duration_ms INTEGER NOT NULL
    );
    CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
    CREATE TABLE notify_cursors (
      name  TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
  `,
};

import type { Migration } from '../open-database.js';

/**
 * Ingest v2: the processing queue, one row per task. `state` is queued → processing → done |
 * failed; `attempt` grows each time a worker claims the job, and every write of a run names its
 * attempt, so a run that was superseded (re-queued, or the server restarted) cannot overwrite the
 * newer one. `steps`, `report` and `outputs` are JSON; `child_pid` is the ffmpeg of the running
 * step, so that a restart after a crash can make sure it is gone.
 */
export const ingestV2Processing: Migration = {
  version: 2,
  description: 'processing jobs',
  up: (db) => {
    db.exec(`
      CREATE TABLE processing_jobs (
        task_id       TEXT PRIMARY KEY,
        state         TEXT NOT NULL CHECK (state IN ('queued', 'processing', 'done', 'failed')),
        file_path     TEXT NOT NULL,
        output_dir    TEXT NOT NULL,
        attempt       INTEGER NOT NULL DEFAULT 0,
        progress      REAL NOT NULL DEFAULT 0,
        steps         TEXT NOT NULL DEFAULT '[]',
        report        TEXT,
        outputs       TEXT NOT NULL DEFAULT '[]',
        error_code    TEXT,
        error_message TEXT,
        child_pid     INTEGER,
        queued_at     TEXT NOT NULL,
        started_at    TEXT,
        finished_at   TEXT,
        updated_at    TEXT NOT NULL
      );
      CREATE INDEX processing_jobs_by_queue ON processing_jobs (state, queued_at, task_id);
    `);
  },
};

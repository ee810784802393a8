import type { Migration } from '../open-database.js';

/**
 * Station v10 (object storage, issue 12): the station's requests to the processing server to
 * process an object it put into the bucket (`POST /process-object`). One row per completed S3
 * task with auto-process on, written when the upload completed: what to ask (server, key,
 * sha256, file name), where it stands — pending (to ask, or being asked under a lease) →
 * started, or failed when the server refused it for good — how many requests were made, when
 * the next one goes out, and the last failure. A failure never fails the upload (the object
 * is in the bucket, verified); it is shown and retried from here, across restarts.
 */
export const stationV10S3ProcessRequests: Migration = {
  version: 10,
  description: 'process-object requests after S3 uploads',
  up: (db) => {
    db.exec(`
      CREATE TABLE s3_process_requests (
        task_id          TEXT PRIMARY KEY,
        server_url       TEXT NOT NULL,
        object_key       TEXT NOT NULL,
        sha256           TEXT NOT NULL,
        file_name        TEXT NOT NULL,
        state            TEXT NOT NULL CHECK (state IN ('pending', 'started', 'failed')),
        attempts         INTEGER NOT NULL DEFAULT 0,
        -- ms epoch: the next request goes out then (pending only)
        next_attempt_at  INTEGER NOT NULL,
        -- the process sending it now, until lease_expires_at (ms epoch)
        lease_owner      TEXT,
        lease_expires_at INTEGER,
        error_code       TEXT,
        error_message    TEXT,
        created_at       TEXT NOT NULL,
        updated_at       TEXT NOT NULL
      );
      CREATE INDEX s3_process_requests_due ON s3_process_requests (state, next_attempt_at);
    `);
  },
};

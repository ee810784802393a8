import type { Migration } from '../open-database.js';

/**
 * Station v5: where each upload task goes. `target_url` is the server it was enqueued for
 * (VULTR_API_URL of the process that enqueued it, or the embedded server's), and
 * `target_protocol` the protocol setting then (auto, tus, multipart). Status, retry and
 * resumes use them, so a task of `streamai upload --` against another server never goes to
 * the station's server. Null for tasks from before v5: the running service's server.
 * `known_complete` = 1 when the enqueuer knows the file is finished (a recording the recorder
 * just closed): no growth check before it is sent.
 */
export const stationV5UploadTargets: Migration = {
  version: 5,
  description: 'upload task targets and known-complete files',
  up: (db) => {
    db.exec(`
      ALTER TABLE upload_tasks ADD COLUMN target_url TEXT;
      ALTER TABLE upload_tasks ADD COLUMN target_protocol TEXT;
      ALTER TABLE upload_tasks ADD COLUMN known_complete INTEGER NOT NULL DEFAULT 0;
    `);
  },
};

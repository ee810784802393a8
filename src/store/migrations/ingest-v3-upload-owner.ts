import type { Migration } from '../open-database.js';

/**
 * Ingest v3: which API key created a task's upload, as the sha256 (hex) of the key — never the
 * key itself. NULL when the server has no keys (or for tasks from before v3): anyone may then
 * touch the task, as before. With a value, only a request presenting the same key may HEAD,
 * PATCH or DELETE the upload, read its status, or upload to the same task_id again.
 */
export const ingestV3UploadOwner: Migration = {
  version: 3,
  description: 'upload owner key hash',
  up: (db) => {
    db.exec(`ALTER TABLE ingest_tasks ADD COLUMN owner_key_sha256 TEXT;`);
  },
};

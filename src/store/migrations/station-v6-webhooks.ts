import type { Migration } from '../open-database.js';
import { createWebhookTables } from './webhook-tables.js';

/**
 * Station v6 (notify branch; renumber on merge if another v6 landed first): the webhook
 * delivery queue (see webhook-tables.ts) and the log of local recording files that the
 * retention policy deleted, with why, and the recordings the disk guard stopped (src/retention).
 */
export const stationV6Webhooks: Migration = {
  version: 6,
  description: 'webhook deliveries and retention deletions',
  up: (db) => {
    createWebhookTables(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS retention_deletions (
        recording_id TEXT PRIMARY KEY,
        session_id   TEXT NOT NULL,
        file_name    TEXT NOT NULL,
        size         INTEGER NOT NULL,
        sha256       TEXT NOT NULL,
        task_id      TEXT NOT NULL,
        reason       TEXT NOT NULL,
        deleted_at   TEXT NOT NULL
      );
      -- recordings the disk guard stopped because free space fell below half of RECORDING_MIN_FREE_BYTES
      CREATE TABLE IF NOT EXISTS disk_stops (
        recording_id   TEXT PRIMARY KEY,
        session_id     TEXT NOT NULL,
        at             TEXT NOT NULL,
        free_bytes     INTEGER NOT NULL,
        min_free_bytes INTEGER NOT NULL,
        message        TEXT NOT NULL
      );
    `);
  },
};

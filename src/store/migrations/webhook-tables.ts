import type { Db } from '../open-database.js';

/**
 * The durable webhook queue (src/notify), shared by the station's and the ingest server's
 * databases: one row per event (its JSON body exactly as sent), one row per (event, target)
 * delivery with its state and lease, one row per HTTP attempt (the delivery log the API shows),
 * and named cursors for event sources that scan tables instead of listening.
 * Delivery states: pending → delivering → delivered | failed; delivering → pending (retry).
 * IF NOT EXISTS: a database made by a build of the notify branch before its migrations were
 * renumbered on merge already has these tables under another version number.
 */
export function createWebhookTables(db: Db): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS webhook_events (
      id         TEXT PRIMARY KEY,
      type       TEXT NOT NULL,
      time       TEXT NOT NULL,
      -- the JSON document {id, type, time, data}, byte for byte what receivers get and sign-check
      body       TEXT NOT NULL,
      -- one human line for Discord / ntfy
      summary    TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS webhook_events_by_time ON webhook_events (time DESC, id);
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
      id               INTEGER PRIMARY KEY AUTOINCREMENT,
      event_id         TEXT NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
      target_kind      TEXT NOT NULL CHECK (target_kind IN ('webhook', 'discord', 'ntfy')),
      target_url       TEXT NOT NULL,
      state            TEXT NOT NULL CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
      attempts         INTEGER NOT NULL DEFAULT 0,
      next_attempt_at  INTEGER NOT NULL,
      lease_owner      TEXT,
      lease_expires_at INTEGER,
      last_status      INTEGER,
      last_error       TEXT,
      created_at       TEXT NOT NULL,
      delivered_at     TEXT,
      UNIQUE (event_id, target_kind, target_url)
    );
    CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
    CREATE TABLE IF NOT EXISTS webhook_attempts (
      id          INTEGER PRIMARY KEY AUTOINCREMENT,
      delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
      at          TEXT NOT NULL,
      status      INTEGER,
      error       TEXT,
      duration_ms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS webhook_attempts_by_delivery ON webhook_attempts (delivery_id, id);
    CREATE TABLE IF NOT EXISTS notify_cursors (
      name  TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
  `);
}

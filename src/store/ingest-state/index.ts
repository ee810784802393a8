/** The ingest server's state behind one async interface, on SQLite (embedded) or PostgreSQL (DATABASE_URL). */
export * from './types.js';
export {
  promised,
  sqliteIngestState,
  sqliteJobStore,
  sqliteWebhookStore,
  openSqliteIngestState,
} from './sqlite-ingest-state.js';
export { openIngestState, type OpenIngestStateOptions } from './open-ingest-state.js';
export { openPgIngestState, redactedUrl, type PgIngestStateOptions } from './pg-ingest-state.js';

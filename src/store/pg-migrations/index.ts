import type { PgMigration } from './pg-migrate.js';
import { pgV1IngestState } from './pg-v1-ingest-state.js';

export { migratePg, MIGRATION_LOCK_KEY, type PgMigration } from './pg-migrate.js';

/**
 * The ingest state's PostgreSQL schema (DATABASE_URL), versioned like the SQLite ones.
 * Append only: add a new version at the end, never edit a shipped one.
 */
export const pgIngestMigrations: PgMigration[] = [pgV1IngestState];

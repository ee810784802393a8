/** The databases: SQLite (station and embedded ingest), PostgreSQL (ingest state at DATABASE_URL), migrations and typed stores. No SQL leaves this folder. */
export { openDatabase, migrate, type Db, type Migration } from './open-database.js';
export { ingestMigrations } from './migrations/ingest-migrations.js';
export { stationMigrations } from './migrations/station-migrations.js';
export * from './ingest-task-repository.js';
export * from './processing-job-repository.js';
export * from './session-repository.js';
export * from './upload-task-repository.js';
export * from './webhook-repository.js';
export * from './retention-repository.js';
export * from './state-counts.js';
export * from './s3-upload-journal-repository.js';
export * from './ingest-state/index.js';
export { pgIngestMigrations, migratePg, type PgMigration } from './pg-migrations/index.js';
export * from './s3-process-request-repository.js';
export * from './upload-part-repository.js';

import type { Migration } from '../open-database.js';

/**
 * Ingest v4 (processing leases): a processing job is owned by a lease, never by the identity of a
 * process. `lease_owner` is the random id of the service instance running it, `lease_expires_at`
 * (ms since the epoch) the moment anyone may take it over; the owner renews it every third of its
 * length. Every state move names the owner it expects (see ProcessingJobRepository).
 */
export const ingestV4ProcessingLeases: Migration = {
  version: 4,
  description: 'processing job leases',
  up: (db) => {
    db.exec(`
      ALTER TABLE processing_jobs ADD COLUMN lease_owner TEXT;
      ALTER TABLE processing_jobs ADD COLUMN lease_expires_at INTEGER;
    `);
  },
};

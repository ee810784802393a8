import type { Migration } from '../open-database.js';

/**
 * Station v3: leases on upload tasks that expire unless renewed. `lease_owner` becomes a
 * random id per service instance (no longer "host:pid", which could neither be checked on
 * another host nor told apart from a reused pid), and `lease_expires_at` (ms since the epoch)
 * is pushed forward by the working process every third of the lease; anyone may take a task
 * over once its lease expired. A lease left by an older version (no expiry) counts as expired.
 */
export const stationV3UploadLeases: Migration = {
  version: 3,
  description: 'upload task leases with expiry',
  up: (db) => {
    db.exec(`ALTER TABLE upload_tasks ADD COLUMN lease_expires_at INTEGER;`);
  },
};

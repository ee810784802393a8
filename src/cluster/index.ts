/** What several ingest nodes and workers share: cross-node locks (and, later, the job queue). */
export { PgAdvisoryLocker, type PgAdvisoryLockerOptions } from './pg-advisory-locker.js';

/** What several ingest nodes and workers share: cross-node locks, the tus metadata cache, the job queue. */
export { PgAdvisoryLocker, type PgAdvisoryLockerOptions } from './pg-advisory-locker.js';
export { PgKvStore, type PgKvStoreOptions } from './pg-kv-store.js';
export { tusSharing, type TusSharing, type TusSharingOptions } from './tus-sharing.js';
export {
  ProcessingQueue,
  PROCESSING_QUEUE_NAME,
  type ProcessingJobData,
  type ProcessingJobHandler,
} from './processing-queue.js';

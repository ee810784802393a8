/** What several ingest nodes and workers share: cross-node locks (and, later, the job queue). */
export { PgAdvisoryLocker, type PgAdvisoryLockerOptions } from './pg-advisory-locker.js';
export {
  ProcessingQueue,
  PROCESSING_QUEUE_NAME,
  type ProcessingJobData,
  type ProcessingJobHandler,
} from './processing-queue.js';

/** Retention of local recordings (RECORDINGS_RETENTION) and the disk guard (RECORDING_MIN_FREE_BYTES). */
export {
  RetentionService,
  type RetentionServiceOptions,
  type RetentionStation,
  type StationRecordingLike,
} from './retention-service.js';
export {
  planRetention,
  keepReason,
  GB,
  type RetentionCandidate,
  type RetentionPlan,
  type PlannedDeletion,
  type KeepReason,
} from './retention-plan.js';
export { freeBytes, assertFreeSpace } from './disk-space.js';
export { retentionRoutes } from './retention-routes.js';

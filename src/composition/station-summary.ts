import { isFinalUploadState, type SessionCatalog, type RecordingView } from '../sessions/index.js';
import { UploadTaskRepository, type Db } from '../store/index.js';

/** What `streamai status` reports about the station's data, whoever owns the recorder. */
export interface StationSummary {
  sessions: number;
  recordings: number;
  /** Recordings still recording or finalizing. */
  unfinished: number;
  /** Upload tasks not finished yet (queued, running, waiting to retry). */
  uploadsPending: number;
  /** Upload tasks that failed (a person must retry them). */
  uploadsFailed: number;
  lastRecording: RecordingView | null;
}

/**
 * Counts sessions and recordings from the catalog and upload TASKS from the upload queue's
 * table — so an upload of `streamai upload` (no recording) counts too, and "failed" means a
 * failed task, not a recording whose last upload failed.
 */
export function stationSummary(catalog: SessionCatalog, db: Db): StationSummary {
  const counts = catalog.counts();
  const tasks = new UploadTaskRepository(db).list(Number.MAX_SAFE_INTEGER);
  return {
    sessions: counts.sessions,
    recordings: counts.recordings,
    unfinished: counts.unfinished,
    uploadsPending: tasks.filter((t) => !isFinalUploadState(t.state)).length,
    uploadsFailed: tasks.filter((t) => t.state === 'failed').length,
    lastRecording: counts.lastRecording,
  };
}

import type { RecordingView, SessionCatalog } from '../sessions/index.js';
import type { UploadTaskCatalog, UploadTaskCounts } from './upload-task-catalog.js';

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
  /** Recordings being sent part by part: parts on the server and the backlog waiting. */
  uploadsInParts: UploadTaskCounts['inParts'];
  lastRecording: RecordingView | null;
}

/**
 * Counts sessions and recordings from the session catalog and upload TASKS from the queue — so
 * an upload of `streamai upload` (no recording) counts too, and "failed" means a failed task,
 * not a recording whose last upload failed.
 */
export function stationSummary(sessions: SessionCatalog, tasks: UploadTaskCatalog): StationSummary {
  const counts = sessions.counts();
  const queue = tasks.counts();
  return {
    sessions: counts.sessions,
    recordings: counts.recordings,
    unfinished: counts.unfinished,
    uploadsPending: queue.pending,
    uploadsFailed: queue.failed,
    uploadsInParts: queue.inParts,
    lastRecording: counts.lastRecording,
  };
}

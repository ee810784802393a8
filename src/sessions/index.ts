/** Sessions: the RecordingManager, the read-only SessionCatalog, session names, metadata files and the auto-upload trigger. */
export {
  SessionCatalog,
  METADATA_FILE,
  type CatalogCounts,
  type RecordingView,
  type SessionView,
} from './session-catalog.js';
export {
  RecordingManager,
  type ManagerStatus,
  type RecordingManagerEvents,
  type RecordingManagerOptions,
} from './recording-manager.js';
export { type RecordingUploadEvent } from './recording-uploads.js';
export { untilNotRecording, untilUploadFinished } from './recording-waits.js';
export {
  RECORDING_TRANSITIONS,
  transition,
  canApply,
  type ManagerState,
  type RecordingPhase,
  type RecordingEvent,
} from './recording-state-machine.js';
export { validateSessionName, defaultSessionName } from './session-name.js';
export { localDateTime } from './local-time.js';
export {
  buildSessionMetadata,
  type SessionMetadata,
  type MetadataRecording,
  type MetadataUpload,
} from './session-metadata.js';
export { probeRecording, makeThumbnail, type RecordingProbe } from './probe-recording.js';
export { moveFile, sha256File } from './move-file.js';
export { writeJsonAtomic } from './write-json-atomic.js';
export {
  isFinalUploadState,
  type UploadQueue,
  type UploadTaskView,
  type UploadProgressView,
  type UploadTaskState,
} from './upload-queue.js';

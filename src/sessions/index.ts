/** Sessions: the RecordingManager, session names, metadata files and the auto-upload trigger. */
export {
  RecordingManager,
  METADATA_FILE,
  type ManagerState,
  type ManagerStatus,
  type RecordingManagerEvents,
  type RecordingManagerOptions,
  type RecordingUploadEvent,
  type RecordingView,
  type SessionView,
} from './recording-manager.js';
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

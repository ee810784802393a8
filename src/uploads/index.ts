/** The station's upload service: durable queue, tus and multipart transports, retry, checksum, compression. */
export { UploadService, type EnqueueOptions } from './upload-service.js';
export { uploadSettingsFromConfig } from './upload-settings.js';
export type {
  UploadState,
  UploadTask,
  EnqueuedTask,
  UploadProgress,
  UploadServiceEvents,
  UploadSettings,
  UploadVerification,
} from './upload-types.js';
export { confirmationText } from './task-view.js';
export { TRANSITIONS, FINISHED_STATES, UNFINISHED_STATES, isFinished } from './upload-state-machine.js';
// For read-only views of the queue (src/composition's UploadTaskCatalog): the stored task as callers see it.
export { toTask } from './task-view.js';
export { isUploadState } from './upload-state-machine.js';
export { RETRYABLE_CODES, isRetryable, retryDelayMs, parseRetryAfter } from './retry-policy.js';
export { isTaskId } from './task-id.js';
export { UploadHttpClient } from './http-client.js';
export { probeServer, fetchRemoteStatus, type ServerCapabilities, type RemoteStatus } from './server-api.js';
export {
  runConnectionCheck,
  describeFailure,
  type ConnectionCheck,
  type ConnectionCheckOptions,
} from './connection-check.js';
export { processingFromRemote, type ProcessingView } from './remote-processing.js';
export { keepWasmAtBaselineTier } from './wasm-tier.js';
export { withStoredObject } from './s3-target.js';
export type { StoredObject } from './transport.js';
export { partsText, confirmationText as partsConfirmationText } from './task-view.js';
export { withParts, partsView, type OpenRecordingOptions } from './recording-parts.js';
export type { UploadParts } from './upload-types.js';

/** The package's public API (`import { … } from 'streamai'`), re-exported by src/index.ts. */
export {
  VultrService,
  vultrService,
  originalTime,
  type VultrServiceOptions,
  type UploadFileOptions,
  type UploadFileResult,
  type ServiceError,
} from './vultr-service.js';
export { createStation, type CreateStationOptions } from './create-station.js';
export {
  Station,
  type StationEvents,
  type StatusView,
  type RecordingView,
  type UploadView,
} from '../station/index.js';
export { StationServer, type StationServerOptions } from '../api/index.js';
export { RecordingManager, type RecordingManagerOptions, type ManagerStatus } from '../sessions/index.js';
export { IngestServer, ingestOptionsFromConfig, type IngestServerOptions } from '../ingest/index.js';
export {
  UploadService,
  type UploadTask,
  type UploadProgress,
  type ConnectionCheck,
} from '../uploads/index.js';
export { loadConfig, type Config, type LoadConfigOptions } from '../config/index.js';
export { AppError, isAppError, type ErrorCode } from '../errors/index.js';
export { createLogger, silentLogger, type Logger } from '../logging/index.js';
export {
  verifyWebhook,
  signWebhook,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  type NotifyEvent,
  type NotifyEventType,
} from '../notify/index.js';

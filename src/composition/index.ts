/**
 * Composition: the station's parts built one way for `serve` and every command (database,
 * catalogs, upload service, recorder, manager), plus the read-side summaries and exit codes.
 */
export {
  buildStationParts,
  buildServeParts,
  type StationParts,
  type ServeParts,
  type StationPartsOptions,
} from './station-parts.js';
export {
  buildStationCore,
  openStationDatabase,
  uploadSettingsFor,
  type StationCore,
  type UploadTarget,
} from './station-core.js';
export { UploadTaskCatalog, type UploadTaskCounts } from './upload-task-catalog.js';
export { stationSummary, type StationSummary } from './station-summary.js';
export { recorderExitCode, recordingExitCode, uploadExitCode } from './outcomes.js';

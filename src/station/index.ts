/** The recording station: recorder, sessions, uploads and (when needed) an embedded ingest server. */
export { Station, type StationEvents, type StationOptions } from './station.js';
export { ProcessingWatcher } from './processing-watcher.js';
export { packageVersion } from './version.js';
export * from './contract.js';

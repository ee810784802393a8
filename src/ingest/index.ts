/** The ingest server (`streamai ingest`): the processing server's receiving side. */
export { IngestServer, ingestOptionsFromConfig, type IngestServerOptions } from './ingest-server.js';
export type { UploadProcessor, ProcessingStatus, CreateProcessor } from './upload-processor.js';
export type { IngestRouteContext } from './ingest-route-context.js';
export type { IngestService, IngestPaths } from './ingest-service.js';
export { createAuthHook, type AuthHook } from './auth-hook.js';
export { buildIngestApp, type IngestAppOptions } from './ingest-app.js';
export { TUS_PATH, UPLOAD_SHA256_HEADER } from './tus-routes.js';

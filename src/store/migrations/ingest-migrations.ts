import type { Migration } from '../open-database.js';
import { ingestV1Tasks } from './ingest-v1-tasks.js';
import { ingestV2Processing } from './ingest-v2-processing.js';
import { ingestV3UploadOwner } from './ingest-v3-upload-owner.js';
import { ingestV4ProcessingLeases } from './ingest-v4-processing-leases.js';
import { ingestV5RecordingParts } from './ingest-v5-recording-parts.js';
import { ingestV6Webhooks } from './ingest-v6-webhooks.js';

/**
 * The ingest server's schema (its own database, `<INGEST_DATA_DIR>/ingest.db`).
 * Append only: add a new version at the end, never edit a shipped one.
 */
export const ingestMigrations: Migration[] = [
  ingestV1Tasks,
  ingestV2Processing,
  ingestV3UploadOwner,
  ingestV4ProcessingLeases,
  ingestV5RecordingParts,
  ingestV6Webhooks,
];

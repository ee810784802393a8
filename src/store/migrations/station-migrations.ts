import type { Migration } from '../open-database.js';
import { stationV1UploadTasks } from './station-v1-upload-tasks.js';
import { stationV2Sessions } from './station-v2-sessions.js';
import { stationV3UploadLeases } from './station-v3-upload-leases.js';
import { stationV4UploadVerification } from './station-v4-upload-verification.js';
import { stationV5UploadTargets } from './station-v5-upload-targets.js';
import { stationV6Webhooks } from './station-v6-webhooks.js';
import { stationV7ObjectStorageJournal } from './station-v7-object-storage-journal.js';
import { stationV8Transcripts } from './station-v8-transcripts.js';
import { stationV9UploadParts } from './station-v9-upload-parts.js';
import { stationV10S3ProcessRequests } from './station-v10-s3-process-requests.js';
import { stationV11OpenPart } from './station-v11-open-part.js';

/**
 * The station's schema (`<STREAMAI_DATA_DIR>/streamai.db`): upload tasks, sessions, recordings.
 * Append only: add a new version at the end, never edit a shipped one.
 */
export const stationMigrations: Migration[] = [
  stationV1UploadTasks,
  stationV2Sessions,
  stationV3UploadLeases,
  stationV4UploadVerification,
  stationV5UploadTargets,
  stationV6Webhooks,
  stationV7ObjectStorageJournal,
  stationV8Transcripts,
  stationV9UploadParts,
  stationV10S3ProcessRequests,
  stationV11OpenPart,
];

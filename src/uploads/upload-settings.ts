import path from 'node:path';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import type { UploadSettings } from './upload-types.js';

/** The server URL of UPLOAD_TARGET=s3 without VULTR_API_URL: never dialled (no processing server). */
export const NO_SERVER_URL = 'http://no-server.invalid';

/** How long a task's lease lasts unless renewed (see upload-scheduler.ts). */
export const DEFAULT_LEASE_MS = 15_000;

/**
 * The upload service's settings from the configuration. `apiUrl` overrides VULTR_API_URL
 * (the station's embedded ingest server passes its own); with neither, CONFIG_INVALID.
 */
export function uploadSettingsFromConfig(config: Config, apiUrl?: string): UploadSettings {
  const s3 = config.storage.uploadTarget === 's3' ? config.storage.s3 : undefined;
  // UPLOAD_TARGET=s3 needs no server; the URL is never dialled for uploads then.
  const url = apiUrl ?? config.upload.apiUrl ?? (s3 ? NO_SERVER_URL : undefined);
  if (url === undefined) {
    throw new AppError(
      'CONFIG_INVALID',
      'VULTR_API_URL: is not set; set it to the processing server, e.g. VULTR_API_URL=https://ingest.example.com',
    );
  }
  return {
    ...config.upload,
    apiUrl: url.replace(/\/+$/, ''),
    tempDir: path.join(config.station.dataDir, 'tmp'),
    retryBaseDelayMs: 1000,
    retryMaxDelayMs: 60_000,
    insufficientStorageDelayMs: 5 * 60_000,
    retryAfterMaxMs: 15 * 60_000,
    growthCheckMs: 1000,
    confirmTimeoutMs: 60_000,
    s3,
    leaseMs: DEFAULT_LEASE_MS,
  };
}

import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { Db } from '../store/index.js';
import { openDatabase } from '../store/open-database.js';
import { stationMigrations } from '../store/migrations/station-migrations.js';
import { UploadService, uploadSettingsFromConfig, type UploadSettings } from '../uploads/index.js';
import { UploadTaskCatalog } from './upload-task-catalog.js';

/**
 * The part of the station every command shares: the database, the upload task catalog and the
 * upload service. It imports neither the recorders nor the sessions part, so `streamai upload`,
 * `uploads` and `upload-status` (which import this file, not the composition's index) load
 * none of them (docs/ARCHITECTURE.md, "Commands load what they use").
 */

/** The station database: `<STREAMAI_DATA_DIR>/streamai.db`, station migrations applied. */
export function openStationDatabase(config: Config): Db {
  return openDatabase(path.join(config.station.dataDir, 'streamai.db'), stationMigrations);
}

/**
 * Where uploads go: the configured server (VULTR_API_URL, VULTR_API_KEY), or one the caller
 * runs (the station's embedded ingest server, with the key only it knows).
 */
export interface UploadTarget {
  apiUrl?: string | undefined;
  apiKey?: string | undefined;
}

/** The upload settings for a target (CONFIG_INVALID when no server is configured nor given). */
export function uploadSettingsFor(config: Config, target: UploadTarget = {}): UploadSettings {
  const settings = uploadSettingsFromConfig(config, target.apiUrl ?? config.upload.apiUrl);
  return target.apiKey === undefined ? settings : { ...settings, apiKey: target.apiKey };
}

/** The database, the task catalog and (when asked) the upload service; nothing started. */
export interface StationCore {
  db: Db;
  tasks: UploadTaskCatalog;
  uploads: UploadService | undefined;
  /** Closes the upload service, then the database. */
  close(): Promise<void>;
}

/** Builds the station's core: uploads to `uploads`, or `false` for no upload service. */
export function buildStationCore(config: Config, logger: Logger, uploads: UploadTarget | false): StationCore {
  const db = openStationDatabase(config);
  try {
    const service =
      uploads === false
        ? undefined
        : new UploadService({
            db,
            settings: uploadSettingsFor(config, uploads),
            logger: logger.child({ part: 'uploads' }),
          });
    let closed = false;
    return {
      db,
      tasks: new UploadTaskCatalog(db),
      uploads: service,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await service?.close();
        } finally {
          db.close();
        }
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

import type { Config } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { createRecorder, type Recorder, type RecorderKind } from '../recorder/index.js';
import { RecordingManager, SessionCatalog } from '../sessions/index.js';
import type { Db } from '../store/index.js';
import type { UploadService } from '../uploads/index.js';
import { buildStationCore, type UploadTarget } from './station-core.js';
import type { UploadTaskCatalog } from './upload-task-catalog.js';

/** What to build, beyond the database and the read-only catalogs. */
export interface StationPartsOptions {
  /** Build the upload service for this target; `false`: no uploads (nothing is sent). */
  uploads: UploadTarget | false;
  /** Build a recorder and a RecordingManager; `false` for commands that only read or upload. */
  recording:
    | false
    | {
        /** A recorder to use instead of the configured one (tests). */
        recorder?: Recorder | undefined;
        kind?: RecorderKind | undefined;
        source?: string | undefined;
        /** Enqueue each ready recording [VULTR_AUTO_UPLOAD when uploads are built]. */
        autoUpload?: boolean | undefined;
        autoProcess?: boolean | undefined;
        /** Fields another part adds to each session's metadata file (the station's retention). */
        metadataExtras?: ((sessionId: string) => Record<string, unknown>) | undefined;
      };
}

/**
 * The station's parts, built the one way `serve` and every command build them. Nothing is
 * started and no listener attached: the owner starts them in its documented order (manager,
 * then upload workers) and closes them with `close()`.
 */
export interface StationParts {
  db: Db;
  sessions: SessionCatalog;
  tasks: UploadTaskCatalog;
  uploads: UploadService | undefined;
  recorder: Recorder | undefined;
  manager: RecordingManager | undefined;
  /** Closes the manager (and its recorder), the upload service, then the database. */
  close(): Promise<void>;
}

/** Builds the station's parts from the configuration (see StationParts). */
export function buildStationParts(
  config: Config,
  logger: Logger,
  options: StationPartsOptions,
): StationParts {
  const core = buildStationCore(config, logger, options.uploads);
  try {
    const { db, uploads } = core;
    let recorder: Recorder | undefined;
    let manager: RecordingManager | undefined;
    if (options.recording !== false) {
      const r = options.recording;
      recorder =
        r.recorder ??
        createRecorder(config, logger.child({ part: 'recorder' }), {
          ...(r.kind !== undefined ? { kind: r.kind } : {}),
          ...(r.source !== undefined ? { source: r.source } : {}),
        });
      manager = new RecordingManager({
        recorder,
        db,
        recordingsPath: config.station.recordingsPath,
        uploads,
        autoUpload: uploads !== undefined && (r.autoUpload ?? config.upload.autoUpload),
        ...(r.autoProcess !== undefined ? { autoProcess: r.autoProcess } : {}),
        ...(r.metadataExtras !== undefined ? { metadataExtras: r.metadataExtras } : {}),
        logger: logger.child({ part: 'sessions' }),
      });
    }
    let closed = false;
    return {
      db,
      sessions: new SessionCatalog(db),
      tasks: core.tasks,
      uploads,
      recorder,
      manager,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await manager?.close();
        } finally {
          await core.close();
        }
      },
    };
  } catch (error) {
    core.db.close();
    throw error;
  }
}

/** The full station's parts (what `serve` runs): every part present. */
export interface ServeParts extends StationParts {
  uploads: UploadService;
  recorder: Recorder;
  manager: RecordingManager;
}

/**
 * The parts of a full station — uploads to `target`, the configured (or given) recorder and the
 * manager with VULTR_AUTO_UPLOAD — as the Station runs them (`streamai serve`).
 */
export function buildServeParts(
  config: Config,
  logger: Logger,
  target: UploadTarget,
  recording: {
    recorder?: Recorder | undefined;
    metadataExtras?: (sessionId: string) => Record<string, unknown>;
  } = {},
): ServeParts {
  const parts = buildStationParts(config, logger, { uploads: target, recording });
  const { uploads, manager } = parts;
  if (!uploads || !manager || !parts.recorder) throw new Error('station parts incomplete'); // cannot happen
  return { ...parts, uploads, manager, recorder: parts.recorder };
}

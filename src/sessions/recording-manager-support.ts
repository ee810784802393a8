/** The RecordingManager's types and the small pieces it delegates to (kept apart so it stays readable). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/index.js';
import type { Recorder, RecorderStatus } from '../recorder/index.js';
import type { Db, RecordingRecord, SessionRepository } from '../store/index.js';
import type { RecordingUploadEvent } from './recording-uploads.js';
import { activeRecording, type ManagerState, type RecordingPhase } from './recording-state-machine.js';
import type { RecordingView } from './session-catalog.js';
import { stamp } from './session-files.js';
import type { UploadQueue } from './upload-queue.js';

/** What `status()` reports: enough for the station API's GET /api/status. */
export interface ManagerStatus {
  state: ManagerState;
  recording: boolean;
  recorder: RecorderStatus;
  session: { id: string; name: string } | null;
  recordingId: string | null;
  startedAt: string | null;
  elapsedSeconds: number | null;
  autoUpload: boolean;
}

/** The manager's typed events. */
export interface RecordingManagerEvents {
  /** Recording state or recorder connection changed. */
  state: [ManagerStatus];
  /** A recording was created or changed (started, finalizing, ready, failed, upload state). */
  recording: [RecordingView];
  /** An upload of a recording changed state. */
  upload: [RecordingUploadEvent];
  /** An upload of a recording made progress (not persisted). */
  'upload-progress': [RecordingUploadEvent];
}

/** Options of the RecordingManager; defaults in brackets. */
export interface RecordingManagerOptions {
  recorder: Recorder;
  /** The station database (station migrations applied). */
  db: Db;
  /** RECORDINGS_PATH: one folder per session. */
  recordingsPath: string;
  /** The upload service; without it nothing is uploaded. */
  uploads?: UploadQueue | undefined;
  /** VULTR_AUTO_UPLOAD: enqueue each recording when it is ready [false]. */
  autoUpload?: boolean;
  /** auto_process sent with automatic uploads [true]. */
  autoProcess?: boolean;
  logger?: Logger;
  /** The clock for times the manager stamps (start, stop, elapsed) [the system clock]. */
  now?: () => Date;
  /** Fields added to a session's metadata file (the retention part's deletions and disk stops). */
  metadataExtras?: (sessionId: string) => Record<string, unknown>;
}

/** The manager's status from its phase and the stored recording (see `RecordingManager.status`). */
export function managerStatus(input: {
  phase: RecordingPhase;
  repo: SessionRepository;
  recorder: Recorder;
  now: Date;
  autoUpload: boolean;
}): ManagerStatus {
  const { phase, repo } = input;
  const active = activeRecording(phase);
  const recording = active ? repo.getRecording(active.recordingId) : undefined;
  const session = active ? repo.getSession(active.sessionId) : undefined;
  const startedAt = recording?.startedAt ?? null;
  return {
    state: phase.name,
    recording: active !== undefined,
    recorder: input.recorder.status(),
    session: session ? { id: session.id, name: session.name } : null,
    recordingId: recording?.id ?? null,
    startedAt,
    elapsedSeconds:
      startedAt === null
        ? null
        : Math.max(0, Math.round((input.now.getTime() - Date.parse(startedAt)) / 1000)),
    autoUpload: input.autoUpload,
  };
}

/**
 * Keeps a finalisation in `finalizing` until it settles (logged when it fails; the stored
 * promise rejects for whoever awaits it, never unhandled).
 */
export function trackFinalization(
  finalizing: Map<string, Promise<RecordingView>>,
  id: string,
  promise: Promise<RecordingView>,
  logger: Logger,
): void {
  const guarded = promise.catch((error: unknown) => {
    logger.error({ err: error, recordingId: id }, 'finalisation failed');
    throw error;
  });
  guarded.catch(() => undefined);
  finalizing.set(id, guarded);
  void guarded
    .catch(() => undefined)
    .finally(() => {
      if (finalizing.get(id) === guarded) finalizing.delete(id);
    });
}

/**
 * A session of its own (named after `namedAt`, as OBS names files) for a recording started
 * outside StreamAI, or one whose start we never saw: so its file is never lost.
 */
export async function createExternalRecording(input: {
  repo: SessionRepository;
  kind: Recorder['kind'];
  root: string;
  namedAt: string;
  startedAt: string;
  sourcePath: string | null | undefined;
}): Promise<RecordingRecord> {
  const name = `${input.kind === 'obs' ? 'OBS' : 'Recording'} ${stamp(new Date(input.namedAt))}`;
  const folder = path.join(input.root, name);
  await mkdir(folder, { recursive: true });
  const session = input.repo.ensureSession(name, folder);
  return input.repo.createRecording({
    sessionId: session.id,
    recorder: input.kind,
    external: true,
    startedAt: input.startedAt,
    sourcePath: input.sourcePath ?? null,
  });
}

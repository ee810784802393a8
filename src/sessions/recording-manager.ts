import { EventEmitter } from 'node:events';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { AppError, isAppError, toAppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import type {
  Recorder,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingLostEvent,
  RecordingStartedEvent,
} from '../recorder/index.js';
import { SessionRepository, type Db, type RecordingRecord, type SessionRecord } from '../store/index.js';
import { moveFile, sha256File } from './move-file.js';
import { stopOrphanRecorder } from './stop-orphan-recorder.js';
import { makeThumbnail, probeRecording } from './probe-recording.js';
import { buildSessionMetadata, type SessionMetadata } from './session-metadata.js';
import { validateSessionName } from './session-name.js';
import {
  isFinalUploadState,
  type UploadProgressView,
  type UploadQueue,
  type UploadTaskView,
} from './upload-queue.js';
import { writeJsonAtomic } from './write-json-atomic.js';

/** The metadata file in each session folder. */
export const METADATA_FILE = 'session_metadata.json';

/** The manager's own recording state (OBS's answers alone cannot be trusted for this). */
export type ManagerState = 'idle' | 'starting' | 'recording' | 'stopping';

/** A recording as callers see it: the stored record plus its session's name. */
export interface RecordingView extends RecordingRecord {
  sessionName: string;
}

/** A session with its recordings and totals. */
export interface SessionView extends SessionRecord {
  recordings: RecordingView[];
  duration: number;
  size: number;
  status: SessionMetadata['status'];
  autoUploadCompleted: boolean;
}

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

/** An upload's state or progress, tied to its recording. */
export interface RecordingUploadEvent {
  recordingId: string;
  sessionId: string;
  taskId: string;
  state: string;
  bytesSent: number;
  totalBytes: number;
  rateBytesPerSecond: number | null;
  etaSeconds: number | null;
  error: { code: string; message: string } | null;
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
}

interface Active {
  sessionId: string;
  recordingId: string;
}

/**
 * Starts and stops recordings, one at a time, in named session folders; keeps each session's
 * metadata (SQLite as the truth, `session_metadata.json` written atomically beside the files);
 * after stop, validates the file with ffprobe, measures it, makes a thumbnail and, with
 * auto-upload on, enqueues the upload and follows it until the server confirms.
 */
export class RecordingManager extends EventEmitter<RecordingManagerEvents> {
  readonly recorder: Recorder;
  private readonly repo: SessionRepository;
  private readonly recordingsPath: string;
  private readonly uploads: UploadQueue | undefined;
  private readonly autoUpload: boolean;
  private readonly autoProcess: boolean;
  private readonly logger: Logger;
  private state: ManagerState = 'idle';
  private active: Active | undefined;
  private readonly finalizing = new Map<string, Promise<RecordingView>>();
  private readonly metadataWrites = new Map<string, Promise<void>>();
  /** A finish or loss reported while startRecording() was still storing the recording. */
  private early:
    | { kind: 'finished'; event: RecordingFinishedEvent }
    | { kind: 'lost'; event: RecordingLostEvent }
    | undefined;
  /** Recordings whose upload is being enqueued right now. */
  private readonly enqueueing = new Set<string>();
  /** Recordings left "recording" by a previous run, waiting for OBS to say what became of them. */
  private orphans: RecordingRecord[] = [];
  private started = false;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(options: RecordingManagerOptions) {
    super();
    this.recorder = options.recorder;
    this.repo = new SessionRepository(options.db);
    this.recordingsPath = path.resolve(options.recordingsPath);
    this.uploads = options.uploads;
    this.autoUpload = options.autoUpload ?? false;
    this.autoProcess = options.autoProcess ?? true;
    this.logger = options.logger ?? silentLogger();
  }

  /** Subscribes to the recorder and the uploads, starts the recorder, and picks up unfinished work. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await mkdir(this.recordingsPath, { recursive: true });
    this.subscribe();
    const unfinished = this.repo.listUnfinishedRecordings(this.recorder.kind);
    for (const r of unfinished.filter((r) => r.state === 'finalizing')) {
      this.track(r.id, this.finalize(r.id, r.sourcePath ?? r.filePath, true));
    }
    this.orphans = unfinished.filter((r) => r.state === 'recording');
    this.syncUploads();
    await this.recorder.start();
    if (this.recorder.status().connected) await this.settleOrphans();
  }

  /**
   * Stops a running ffmpeg recording (its process ends with us) and waits for finalisation, then
   * closes the recorder. An OBS recording is left running in OBS: it belongs to OBS, and the next
   * start adopts it.
   */
  async close(): Promise<void> {
    if (!this.started) return;
    if (this.state === 'recording' && this.recorder.kind === 'ffmpeg') {
      await this.stopRecording().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'recording could not be stopped on close'),
      );
    }
    await Promise.allSettled([...this.finalizing.values()]);
    for (const off of this.unsubscribers.splice(0)) off();
    await this.recorder.close();
    await Promise.allSettled([...this.metadataWrites.values()]);
    this.started = false;
  }

  status(): ManagerStatus {
    const recording = this.active ? this.repo.getRecording(this.active.recordingId) : undefined;
    const session = this.active ? this.repo.getSession(this.active.sessionId) : undefined;
    const startedAt = recording?.startedAt ?? null;
    return {
      state: this.state,
      recording: this.state === 'recording' || this.state === 'stopping',
      recorder: this.recorder.status(),
      session: session ? { id: session.id, name: session.name } : null,
      recordingId: recording?.id ?? null,
      startedAt,
      elapsedSeconds:
        startedAt === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000)),
      autoUpload: this.autoUpload && this.uploads !== undefined,
    };
  }

  /**
   * Starts recording into the session `sessionName` (created if new). ALREADY_RECORDING when a
   * recording is running or starting; INVALID_NAME for a name that is not a safe folder name.
   */
  async startRecording(sessionName: string): Promise<RecordingView> {
    const name = validateSessionName(sessionName);
    if (this.state !== 'idle') {
      const current = this.status().session?.name;
      throw new AppError(
        'ALREADY_RECORDING',
        current ? `already recording session "${current}"` : 'a recording is already starting or stopping',
      );
    }
    this.state = 'starting';
    try {
      const folder = path.join(this.recordingsPath, name);
      await mkdir(folder, { recursive: true });
      const session = this.repo.ensureSession(name, folder);
      const startedAt = new Date();
      const started = await this.recorder.startRecording({
        directory: folder,
        baseName: await uniqueBaseName(folder, `${name} ${stamp(startedAt)}`),
      });
      const recording = this.repo.createRecording({
        sessionId: session.id,
        recorder: this.recorder.kind,
        external: false,
        startedAt: started.startedAt,
        sourcePath: started.outputPath,
        recorderPid: started.pid ?? null,
      });
      this.active = { sessionId: session.id, recordingId: recording.id };
      this.state = 'recording';
      this.logger.info({ session: name, recordingId: recording.id }, 'recording started');
      await this.writeMetadata(session.id);
      const view = this.announce(recording.id);
      this.emitState();
      const early = this.early;
      this.early = undefined;
      if (early?.kind === 'finished') this.onRecorderFinished(early.event);
      else if (early?.kind === 'lost') await this.onRecorderLost(early.event);
      return view;
    } catch (error) {
      if (this.state === 'starting') this.state = 'idle';
      this.early = undefined;
      this.emitState();
      throw error;
    }
  }

  /**
   * Stops the running recording and resolves once its file is moved, validated and measured
   * (the upload goes on in the background). NOT_RECORDING when nothing is recording.
   */
  async stopRecording(): Promise<RecordingView> {
    const active = this.active;
    if (this.state !== 'recording' || !active) {
      throw new AppError(
        'NOT_RECORDING',
        this.state === 'idle' ? 'nothing is recording' : `cannot stop while ${this.state}`,
      );
    }
    this.state = 'stopping';
    this.emitState();
    try {
      await this.recorder.stopRecording();
    } catch (error) {
      // The recorder still recording (OBS unreachable): the session stays as it was.
      if (this.active === active && this.state === 'stopping') {
        this.state = 'recording';
        this.emitState();
      }
      const pending = this.finalizing.get(active.recordingId);
      if (!pending) throw error;
    }
    const pending = this.finalizing.get(active.recordingId);
    if (pending) return pending;
    const recording = this.getRecording(active.recordingId);
    if (!recording) throw new AppError('RECORDING_NOT_FOUND', `recording ${active.recordingId} vanished`);
    return recording;
  }

  /** Sessions, most recent first, with their recordings. */
  listSessions(limit = 100): SessionView[] {
    return this.repo.listSessions(limit).map((s) => this.sessionView(s));
  }

  getSession(id: string): SessionView | undefined {
    const session = this.repo.getSession(id);
    return session ? this.sessionView(session) : undefined;
  }

  /** Every recording, most recent first. */
  listRecordings(limit = 100): RecordingView[] {
    const names = new Map<string, string>();
    return this.repo.listAllRecordings(limit).map((r) => {
      let name = names.get(r.sessionId);
      if (name === undefined) {
        name = this.repo.getSession(r.sessionId)?.name ?? '';
        names.set(r.sessionId, name);
      }
      return { ...r, sessionName: name };
    });
  }

  getRecording(id: string): RecordingView | undefined {
    const recording = this.repo.getRecording(id);
    if (!recording) return undefined;
    return { ...recording, sessionName: this.repo.getSession(recording.sessionId)?.name ?? '' };
  }

  /** Resolves when the recording's finalisation (move, probe, thumbnail) is done. */
  async whenFinalized(recordingId: string): Promise<RecordingView | undefined> {
    const pending = this.finalizing.get(recordingId);
    return pending ? pending : this.getRecording(recordingId);
  }

  /**
   * Uploads a ready recording now (again, if it was uploaded before) and returns the task id.
   * RECORDING_NOT_FOUND, INVALID_STATE when it is not ready or no upload service is configured.
   */
  async upload(recordingId: string, options: { autoProcess?: boolean } = {}): Promise<string> {
    const recording = this.getRecording(recordingId);
    if (!recording) throw new AppError('RECORDING_NOT_FOUND', `no recording ${recordingId}`);
    if (!this.uploads) throw new AppError('INVALID_STATE', 'no upload service is configured');
    if (recording.state !== 'ready' || !recording.filePath) {
      throw new AppError(
        'INVALID_STATE',
        `recording ${recordingId} is ${recording.state}, not ready to upload`,
      );
    }
    // The service may report the new task's first states before enqueue() returns: adopt them.
    this.enqueueing.add(recording.id);
    let task: UploadTaskView;
    try {
      task = await this.uploads.enqueue(recording.filePath, {
        sessionName: recording.sessionName,
        recordingId: recording.id,
        autoProcess: options.autoProcess ?? this.autoProcess,
      });
    } finally {
      this.enqueueing.delete(recording.id);
    }
    this.logger.info({ recordingId, taskId: task.id }, 'upload enqueued');
    this.onUploadState(this.uploads.get(task.id) ?? task, true);
    await this.writeMetadata(recording.sessionId);
    return task.id;
  }

  /** The metadata file's path for a session. */
  metadataPath(session: SessionRecord): string {
    return path.join(session.folder, METADATA_FILE);
  }

  private subscribe(): void {
    const onStarted = (e: RecordingStartedEvent) => this.guard(this.onRecorderStarted(e));
    const onFinished = (e: RecordingFinishedEvent) => this.onRecorderFinished(e);
    const onLost = (e: RecordingLostEvent) => this.guard(this.onRecorderLost(e));
    const onStatus = (s: RecorderStatus) => {
      this.emitState();
      if (s.connected && this.orphans.length > 0) this.guard(this.settleOrphans());
    };
    this.recorder.on('started', onStarted);
    this.recorder.on('finished', onFinished);
    this.recorder.on('lost', onLost);
    this.recorder.on('status', onStatus);
    this.unsubscribers.push(() => {
      this.recorder.off('started', onStarted);
      this.recorder.off('finished', onFinished);
      this.recorder.off('lost', onLost);
      this.recorder.off('status', onStatus);
    });
    if (this.uploads) {
      const uploads = this.uploads;
      const onState = (task: UploadTaskView) => this.onUploadState(task);
      const onProgress = (progress: UploadProgressView) => this.onUploadProgress(progress);
      uploads.on('state', onState);
      uploads.on('progress', onProgress);
      this.unsubscribers.push(() => {
        uploads.off('state', onState);
        uploads.off('progress', onProgress);
      });
    }
  }

  /** A recording started outside StreamAI (OBS's own button): it becomes a session too. */
  private async onRecorderStarted(event: RecordingStartedEvent): Promise<void> {
    if (!event.external) return;
    if (this.state !== 'idle') return;
    const orphan = this.orphans.pop();
    let recording: RecordingRecord;
    if (orphan) {
      // The recording a previous run (or a lost connection) left open is still going.
      recording = orphan;
      if (event.outputPath)
        recording = this.repo.updateRecording(orphan.id, { sourcePath: event.outputPath });
    } else {
      const startedAt = new Date(event.startedAt);
      const name = `${this.recorder.kind === 'obs' ? 'OBS' : 'Recording'} ${stamp(startedAt)}`;
      const folder = path.join(this.recordingsPath, name);
      await mkdir(folder, { recursive: true });
      const session = this.repo.ensureSession(name, folder);
      recording = this.repo.createRecording({
        sessionId: session.id,
        recorder: this.recorder.kind,
        external: true,
        startedAt: event.startedAt,
        sourcePath: event.outputPath,
      });
    }
    this.active = { sessionId: recording.sessionId, recordingId: recording.id };
    this.state = 'recording';
    this.logger.info({ recordingId: recording.id }, 'recording started outside StreamAI');
    await this.writeMetadata(recording.sessionId);
    this.emitState();
    this.announce(recording.id);
  }

  private onRecorderFinished(event: RecordingFinishedEvent): void {
    if (this.state === 'starting') {
      // Finished before startRecording() has stored the recording (a very short live source).
      this.early = { kind: 'finished', event };
      return;
    }
    let target: RecordingRecord | undefined;
    if (this.active) {
      target = this.repo.getRecording(this.active.recordingId);
      this.active = undefined;
    } else {
      const index = this.orphans.findIndex((o) => o.sourcePath === event.outputPath);
      if (index !== -1) target = this.orphans.splice(index, 1)[0];
    }
    this.state = 'idle';
    const promise = (async () => {
      let recording = target;
      if (!recording) {
        // A stop we never saw the start of: a session of its own, so the file is not lost.
        const name = `${this.recorder.kind === 'obs' ? 'OBS' : 'Recording'} ${stamp(new Date(event.stoppedAt))}`;
        const folder = path.join(this.recordingsPath, name);
        await mkdir(folder, { recursive: true });
        const session = this.repo.ensureSession(name, folder);
        recording = this.repo.createRecording({
          sessionId: session.id,
          recorder: this.recorder.kind,
          external: true,
          startedAt: event.startedAt ?? event.stoppedAt,
          sourcePath: event.outputPath,
        });
      }
      this.repo.updateRecording(recording.id, {
        state: 'finalizing',
        stoppedAt: event.stoppedAt,
        sourcePath: event.outputPath,
        ...(event.external ? { external: true } : {}),
      });
      return this.finalize(recording.id, event.outputPath, event.interrupted);
    })();
    const id = target?.id ?? `pending-${event.outputPath}`;
    this.track(id, promise);
    this.emitState();
  }

  private async onRecorderLost(event: RecordingLostEvent): Promise<void> {
    if (this.state === 'starting') {
      this.early = { kind: 'lost', event };
      return;
    }
    const active = this.active;
    this.active = undefined;
    this.state = 'idle';
    if (active) {
      this.repo.updateRecording(active.recordingId, {
        state: 'failed',
        stoppedAt: event.stoppedAt,
        error: { code: 'RECORDER_UNAVAILABLE', message: event.message },
      });
      await this.writeMetadata(active.sessionId);
      this.announce(active.recordingId);
    }
    this.emitState();
  }

  /** Recordings a previous run left open that the (connected) recorder is not recording: finish them. */
  private async settleOrphans(): Promise<void> {
    if (this.recorder.status().recording && this.state === 'idle' && this.orphans.length > 0) {
      // The recorder records, but we have not heard a start: adopt the newest orphan.
      await this.onRecorderStarted({
        startedAt: this.recorder.status().startedAt ?? new Date().toISOString(),
        outputPath: this.recorder.status().outputPath,
        external: true,
      });
    }
    const orphans = this.orphans.splice(0);
    for (const orphan of orphans) {
      if (this.active?.recordingId === orphan.id) continue;
      // A crash of this process leaves ffmpeg recording (it ignores a closed stdin): stop it first.
      if (orphan.recorderPid !== null && orphan.sourcePath !== null) {
        await stopOrphanRecorder(orphan.recorderPid, orphan.sourcePath, this.logger);
      }
      this.repo.updateRecording(orphan.id, { state: 'finalizing', stoppedAt: new Date().toISOString() });
      this.track(orphan.id, this.finalize(orphan.id, orphan.sourcePath, true));
    }
  }

  /** Move into the session folder, validate, measure, thumbnail, write metadata, then auto-upload. */
  private async finalize(
    recordingId: string,
    source: string | null,
    interrupted: boolean,
  ): Promise<RecordingView> {
    const recording = this.repo.getRecording(recordingId);
    const session = recording ? this.repo.getSession(recording.sessionId) : undefined;
    if (!recording || !session) throw new AppError('RECORDING_NOT_FOUND', `no recording ${recordingId}`);
    try {
      if (!source) throw new AppError('FILE_NOT_FOUND', 'the recorder reported no file for this recording');
      await mkdir(session.folder, { recursive: true });
      let filePath = source;
      if (path.resolve(path.dirname(source)) !== path.resolve(session.folder)) {
        filePath = await uniquePath(session.folder, path.basename(source));
        if (await isFile(source)) {
          await moveFile(source, filePath);
        } else if (recording.filePath && (await isFile(recording.filePath))) {
          filePath = recording.filePath; // moved by an earlier run that stopped before finishing
        } else {
          throw new AppError('FILE_NOT_FOUND', `the recording file is missing: ${source}`);
        }
      }
      this.repo.updateRecording(recordingId, { filePath, fileName: path.basename(filePath) });
      const probe = await probeRecording(filePath);
      const sha256 = await sha256File(filePath);
      const thumbnailPath = path.join(
        session.folder,
        `${path.basename(filePath, path.extname(filePath))}.jpg`,
      );
      let thumbnail: string | null = null;
      if (probe.technical.video) {
        try {
          await makeThumbnail(filePath, thumbnailPath, probe.duration);
          thumbnail = thumbnailPath;
        } catch (error) {
          this.logger.warn({ err: error, filePath }, 'no thumbnail');
        }
      }
      this.repo.updateRecording(recordingId, {
        state: 'ready',
        size: probe.size,
        duration: probe.duration,
        sha256,
        thumbnailPath: thumbnail,
        technical: { ...probe.technical, ...(interrupted ? { interrupted: true } : {}) },
        error: null,
      });
      this.logger.info(
        { recordingId, filePath, duration: probe.duration, size: probe.size },
        'recording ready',
      );
    } catch (error) {
      const appError = isAppError(error) ? error : toAppError(error, 'finalising the recording failed');
      this.logger.error({ err: error, recordingId }, 'recording could not be finalised');
      this.repo.updateRecording(recordingId, {
        state: 'failed',
        error: { code: appError.code, message: appError.message },
      });
    }
    await this.writeMetadata(session.id);
    const view = this.announce(recordingId);
    if (view.state === 'ready' && this.autoUpload && this.uploads) {
      try {
        await this.upload(recordingId, { autoProcess: this.autoProcess });
      } catch (error) {
        this.logger.error({ err: error, recordingId }, 'auto-upload could not be enqueued');
        const appError = isAppError(error) ? error : toAppError(error, 'enqueueing the upload failed');
        this.repo.updateRecording(recordingId, {
          uploadState: 'failed',
          uploadError: { code: appError.code, message: appError.message },
        });
        await this.writeMetadata(session.id);
        this.announce(recordingId);
      }
    }
    return this.getRecording(recordingId) ?? view;
  }

  private onUploadState(task: UploadTaskView, adopt = false): void {
    const recording =
      (task.recordingId ? this.repo.getRecording(task.recordingId) : undefined) ??
      this.repo.findRecordingByUploadTask(task.id);
    if (!recording) return;
    if (recording.uploadTaskId !== task.id) {
      if (!adopt && !this.enqueueing.has(recording.id)) return;
      this.repo.updateRecording(recording.id, { uploadTaskId: task.id, uploadQueuedAt: task.createdAt });
      recording.uploadState = null;
    }
    if (recording.uploadState !== task.state || task.state !== 'completed') {
      this.repo.updateRecording(recording.id, {
        uploadState: task.state,
        uploadError: task.lastError,
        uploadedAt: task.state === 'completed' ? (task.completedAt ?? new Date().toISOString()) : null,
      });
      this.guard(this.writeMetadata(recording.sessionId));
      this.announce(recording.id);
    }
    this.emit('upload', {
      recordingId: recording.id,
      sessionId: recording.sessionId,
      taskId: task.id,
      state: task.state,
      bytesSent: task.bytesSent,
      totalBytes: task.size,
      rateBytesPerSecond: null,
      etaSeconds: null,
      error: task.lastError,
    });
  }

  private onUploadProgress(progress: UploadProgressView): void {
    const recording = this.repo.findRecordingByUploadTask(progress.taskId);
    if (!recording) return;
    this.emit('upload-progress', {
      recordingId: recording.id,
      sessionId: recording.sessionId,
      taskId: progress.taskId,
      state: progress.state,
      bytesSent: progress.bytesSent,
      totalBytes: progress.totalBytes,
      rateBytesPerSecond: progress.rateBytesPerSecond,
      etaSeconds: progress.etaSeconds,
      error: null,
    });
  }

  /** After a restart: bring stored upload states up to date with the upload service. */
  private syncUploads(): void {
    if (!this.uploads) return;
    for (const recording of this.repo.listAllRecordings(10_000)) {
      if (!recording.uploadTaskId || isFinalUploadState(recording.uploadState)) continue;
      const task = this.uploads.get(recording.uploadTaskId);
      if (task) this.onUploadState(task);
    }
  }

  /**
   * Writes session_metadata.json from the database; writes for one session never overlap, and a
   * write never rejects: a failure (the folder replaced by a file, a full disk) is logged and
   * recorded on the session's recordings, and the next change writes the whole file again.
   */
  private writeMetadata(sessionId: string): Promise<void> {
    const previous = this.metadataWrites.get(sessionId) ?? Promise.resolve();
    const next = previous.then(async () => {
      const session = this.repo.getSession(sessionId);
      if (!session) return;
      try {
        await mkdir(session.folder, { recursive: true });
        const metadata = buildSessionMetadata(
          session,
          this.repo.listRecordings(sessionId),
          undefined,
          this.repo.listSessionUploadTasks(sessionId),
        );
        await writeJsonAtomic(this.metadataPath(session), metadata);
        this.markMetadataWritten(session);
      } catch (error) {
        this.markMetadataFailed(session, error);
      }
    });
    this.metadataWrites.set(sessionId, next);
    void next.then(() => {
      if (this.metadataWrites.get(sessionId) === next) this.metadataWrites.delete(sessionId);
    });
    return next;
  }

  /** Resolves once the session's pending metadata writes are done (they never reject). */
  async whenMetadataWritten(sessionId: string): Promise<void> {
    await this.metadataWrites.get(sessionId);
  }

  /**
   * A recording that is not `failed` carries an error only when its session's metadata could
   * not be written (a failed recording's error is why it failed, and stays).
   */
  private markMetadataFailed(session: SessionRecord, error: unknown): void {
    const cause = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code === 'ENOSPC' ? 'INSUFFICIENT_STORAGE' : 'INTERNAL_ERROR';
    const recorded = { code, message: `${METADATA_FILE} could not be written: ${cause}` };
    this.logger.error({ err: error, sessionId: session.id, folder: session.folder }, recorded.message);
    for (const r of this.repo.listRecordings(session.id)) {
      if (r.state === 'failed' || r.error?.message === recorded.message) continue;
      this.repo.updateRecording(r.id, { error: recorded });
      this.announce(r.id);
    }
  }

  private markMetadataWritten(session: SessionRecord): void {
    for (const r of this.repo.listRecordings(session.id)) {
      if (r.state === 'failed' || r.error === null) continue;
      this.repo.updateRecording(r.id, { error: null });
      this.announce(r.id);
    }
  }

  private sessionView(session: SessionRecord): SessionView {
    const recordings = this.repo.listRecordings(session.id);
    const metadata = buildSessionMetadata(session, recordings);
    return {
      ...session,
      recordings: recordings.map((r) => ({ ...r, sessionName: session.name })),
      duration: metadata.duration,
      size: metadata.size,
      status: metadata.status,
      autoUploadCompleted: metadata.auto_upload_completed,
    };
  }

  private announce(recordingId: string): RecordingView {
    const view = this.getRecording(recordingId);
    if (!view) throw new AppError('RECORDING_NOT_FOUND', `no recording ${recordingId}`);
    this.emit('recording', view);
    return view;
  }

  private emitState(): void {
    this.emit('state', this.status());
  }

  private track(id: string, promise: Promise<RecordingView>): void {
    const guarded = promise.catch((error: unknown) => {
      this.logger.error({ err: error, recordingId: id }, 'finalisation failed');
      throw error;
    });
    guarded.catch(() => undefined);
    this.finalizing.set(id, guarded);
    void guarded
      .catch(() => undefined)
      .finally(() => {
        if (this.finalizing.get(id) === guarded) this.finalizing.delete(id);
      });
  }

  private guard(promise: Promise<unknown>): void {
    promise.catch((error: unknown) => this.logger.error({ err: error }, 'recording manager task failed'));
  }
}

/** "2026-11-24 20-13-03" (UTC), the way OBS names its files. */
function stamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '-');
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `name` in `folder`, or `name (2)`, `name (3)`… when taken. */
async function uniquePath(folder: string, fileName: string): Promise<string> {
  const ext = path.extname(fileName);
  const base = path.basename(fileName, ext);
  for (let i = 1; ; i += 1) {
    const candidate = path.join(folder, i === 1 ? fileName : `${base} (${i})${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
}

async function uniqueBaseName(folder: string, base: string): Promise<string> {
  return path.basename(await uniquePath(folder, `${base}.mkv`), '.mkv');
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

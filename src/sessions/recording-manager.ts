import { EventEmitter } from 'node:events';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import type {
  Recorder,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingLostEvent,
  RecordingStartedEvent,
} from '../recorder/index.js';
import type { RecordingRecord, SessionRecord } from '../store/index.js';
import { SessionRepository } from '../store/session-repository.js';
import { stopOrphanRecorder } from './stop-orphan-recorder.js';
import { finalizeRecordingFile } from './finalize-recording.js';
import {
  createExternalRecording,
  managerStatus,
  trackFinalization,
  type ManagerStatus,
  type RecordingManagerEvents,
  type RecordingManagerOptions,
} from './recording-manager-support.js';
import { RecordingPartEvents } from './recording-part-events.js';
import { RecordingUploads } from './recording-uploads.js';
import { MetadataWriter } from './metadata-writer.js';
import { removeSegments, stamp, uniqueBaseName } from './session-files.js';
import { SessionCatalog, type RecordingView, type SessionView } from './session-catalog.js';
import { validateSessionName } from './session-name.js';
import type { UploadQueue } from './upload-queue.js';
import {
  activeRecording,
  canApply,
  transition,
  type RecordingEvent,
  type RecordingPhase,
} from './recording-state-machine.js';

export type {
  ManagerStatus,
  RecordingManagerEvents,
  RecordingManagerOptions,
} from './recording-manager-support.js';

/**
 * Starts and stops recordings, one at a time, in named session folders; keeps each session's
 * metadata (SQLite as the truth, `session_metadata.json` written atomically beside the files);
 * after stop, validates the file with ffprobe, measures it, makes a thumbnail and, with
 * auto-upload on, enqueues the upload and follows it until the server confirms.
 */
export class RecordingManager extends EventEmitter<RecordingManagerEvents> {
  readonly recorder: Recorder;
  private readonly repo: SessionRepository;
  /** The read side, shared with `streamai list`/`status` (which need no recorder). */
  readonly catalog: SessionCatalog;
  private readonly recordingsPath: string;
  private readonly uploads: UploadQueue | undefined;
  private readonly autoUpload: boolean;
  private readonly autoProcess: boolean;
  private readonly logger: Logger;
  private readonly now: () => Date;
  /** The one state: see recording-state-machine.ts; changed only by apply(). */
  private phase: RecordingPhase = { name: 'idle' };
  private readonly finalizing = new Map<string, Promise<RecordingView>>();
  private readonly metadata: MetadataWriter;
  /** Follows the upload queue for the recordings' upload state; absent without a queue. */
  private readonly recordingUploads: RecordingUploads | undefined;
  /** Auto-upload of a segmented recording's parts as the recorder reports them. */
  private readonly partEvents: RecordingPartEvents | undefined;
  /** Recordings left "recording" by a previous run, waiting for OBS to say what became of them. */
  private orphans: RecordingRecord[] = [];
  private started = false;
  private readonly unsubscribers: Array<() => void> = [];

  constructor(options: RecordingManagerOptions) {
    super();
    this.recorder = options.recorder;
    this.repo = new SessionRepository(options.db);
    this.catalog = new SessionCatalog(options.db);
    this.recordingsPath = path.resolve(options.recordingsPath);
    this.uploads = options.uploads;
    this.autoUpload = options.autoUpload ?? false;
    this.autoProcess = options.autoProcess ?? true;
    this.logger = options.logger ?? silentLogger();
    this.now = options.now ?? (() => new Date());
    this.metadata = new MetadataWriter({
      repo: this.repo,
      catalog: this.catalog,
      logger: this.logger,
      now: this.now,
      onRecordingChanged: (id) => this.announce(id),
      extras: options.metadataExtras,
    });
    this.recordingUploads = this.uploads
      ? new RecordingUploads({
          repo: this.repo,
          queue: this.uploads,
          logger: this.logger,
          now: this.now,
          writeMetadata: (id) => this.writeMetadata(id),
          announce: (id) => this.announce(id),
          emitUpload: (kind, event) => this.emit(kind, event),
        })
      : undefined;
    this.partEvents =
      this.recordingUploads && this.autoUpload
        ? new RecordingPartEvents({
            uploads: this.recordingUploads,
            autoProcess: this.autoProcess,
            active: () => {
              const active = activeRecording(this.phase);
              return active ? this.getRecording(active.recordingId) : undefined;
            },
            starting: () => this.phase.name === 'starting',
          })
        : undefined;
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
    this.recordingUploads?.sync();
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
    if (this.phase.name === 'recording' && this.recorder.kind === 'ffmpeg') {
      await this.stopRecording().catch((error: unknown) =>
        this.logger.warn({ err: error }, 'recording could not be stopped on close'),
      );
    }
    await Promise.allSettled([...this.finalizing.values()]);
    for (const off of this.unsubscribers.splice(0)) off();
    await this.recorder.close();
    await this.metadata.settled();
    this.started = false;
  }

  status(): ManagerStatus {
    return managerStatus({
      phase: this.phase,
      repo: this.repo,
      recorder: this.recorder,
      now: this.now(),
      autoUpload: this.autoUpload && this.uploads !== undefined,
    });
  }

  /**
   * Starts recording into the session `sessionName` (created if new). ALREADY_RECORDING when a
   * recording is running or starting; INVALID_NAME for a name that is not a safe folder name.
   */
  async startRecording(sessionName: string): Promise<RecordingView> {
    const name = validateSessionName(sessionName);
    if (!canApply(this.phase, 'start')) {
      const current = this.status().session?.name;
      throw new AppError(
        'ALREADY_RECORDING',
        current ? `already recording session "${current}"` : 'a recording is already starting or stopping',
      );
    }
    this.apply({ type: 'start' }, false);
    try {
      const folder = path.join(this.recordingsPath, name);
      await mkdir(folder, { recursive: true });
      const session = this.repo.ensureSession(name, folder);
      const startedAt = this.now();
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
      const early = this.phase.name === 'starting' ? this.phase.early : null;
      this.apply({ type: 'started', sessionId: session.id, recordingId: recording.id }, false);
      this.partEvents?.started();
      this.logger.info({ session: name, recordingId: recording.id }, 'recording started');
      await this.writeMetadata(session.id);
      const view = this.announce(recording.id);
      this.emitState();
      // An end the recorder reported while we were storing the recording is handled now.
      if (early?.kind === 'finished') this.onRecorderFinished(early.event);
      else if (early?.kind === 'lost') await this.onRecorderLost(early.event);
      return view;
    } catch (error) {
      if (this.phase.name === 'starting') this.apply({ type: 'start-failed' });
      throw error;
    }
  }

  /**
   * Stops the running recording and resolves once its file is moved, validated and measured
   * (the upload goes on in the background). NOT_RECORDING when nothing is recording.
   */
  async stopRecording(): Promise<RecordingView> {
    const active = activeRecording(this.phase);
    if (!active || !canApply(this.phase, 'stop')) {
      throw new AppError(
        'NOT_RECORDING',
        this.phase.name === 'idle' ? 'nothing is recording' : `cannot stop while ${this.phase.name}`,
      );
    }
    this.apply({ type: 'stop' });
    try {
      await this.recorder.stopRecording();
    } catch (error) {
      // The recorder still recording (OBS unreachable): the session stays as it was.
      if (this.phase.name === 'stopping' && this.phase.recordingId === active.recordingId) {
        this.apply({ type: 'stop-failed' });
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
    return this.catalog.listSessions(limit);
  }

  getSession(id: string): SessionView | undefined {
    return this.catalog.getSession(id);
  }

  /** Every recording, most recent first. */
  listRecordings(limit = 100): RecordingView[] {
    return this.catalog.listRecordings(limit);
  }

  getRecording(id: string): RecordingView | undefined {
    return this.catalog.getRecording(id);
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
    if (!this.recordingUploads) throw new AppError('INVALID_STATE', 'no upload service is configured');
    return this.recordingUploads.upload(recording, options.autoProcess ?? this.autoProcess);
  }

  /** The metadata file's path for a session. */
  metadataPath(session: SessionRecord): string {
    return this.catalog.metadataPath(session);
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
    if (this.partEvents) this.unsubscribers.push(this.partEvents.listen(this.recorder));
    if (this.recordingUploads) this.unsubscribers.push(this.recordingUploads.subscribe());
  }

  /** A recording started outside StreamAI (OBS's own button): it becomes a session too. */
  private async onRecorderStarted(event: RecordingStartedEvent): Promise<void> {
    if (!event.external) return;
    if (!canApply(this.phase, 'adopted')) return;
    const orphan = this.orphans.pop();
    let recording: RecordingRecord;
    if (orphan) {
      // The recording a previous run (or a lost connection) left open is still going.
      recording = orphan;
      if (event.outputPath)
        recording = this.repo.updateRecording(orphan.id, { sourcePath: event.outputPath });
    } else {
      recording = await this.externalRecording(event.startedAt, event.startedAt, event.outputPath);
    }
    if (!canApply(this.phase, 'adopted')) {
      // We started a recording of our own meanwhile: this one waits as an orphan for its file.
      this.orphans.push(recording);
      return;
    }
    this.apply({ type: 'adopted', sessionId: recording.sessionId, recordingId: recording.id }, false);
    this.logger.info({ recordingId: recording.id }, 'recording started outside StreamAI');
    await this.writeMetadata(recording.sessionId);
    this.emitState();
    this.announce(recording.id);
  }

  private onRecorderFinished(event: RecordingFinishedEvent): void {
    if (this.phase.name === 'starting') {
      // Finished before startRecording() has stored the recording (a very short live source).
      this.apply({ type: 'finished', event }, false);
      return;
    }
    let target: RecordingRecord | undefined;
    const active = activeRecording(this.phase);
    if (active) {
      target = this.repo.getRecording(active.recordingId);
    } else {
      const index = this.orphans.findIndex((o) => o.sourcePath === event.outputPath);
      if (index !== -1) target = this.orphans.splice(index, 1)[0];
    }
    this.apply({ type: 'finished', event }, false);
    const promise = (async () => {
      let recording = target;
      if (!recording) {
        // A stop we never saw the start of: a session of its own, so the file is not lost.
        recording = await this.externalRecording(
          event.stoppedAt,
          event.startedAt ?? event.stoppedAt,
          event.outputPath,
        );
      }
      // The recorder closed every part: the part task learns the count now, before the local join.
      await this.recordingUploads?.closeParts(recording.id, { segments: event.segments });
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
    const active = activeRecording(this.phase);
    this.apply({ type: 'lost', event }, false);
    if (this.phase.name === 'starting') return; // replayed once startRecording() stored it
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

  /** A session of its own for a recording started outside StreamAI. */
  private externalRecording(namedAt: string, startedAt: string, sourcePath: string | null | undefined) {
    const kind = this.recorder.kind;
    return createExternalRecording({
      repo: this.repo,
      kind,
      root: this.recordingsPath,
      namedAt,
      startedAt,
      sourcePath,
    });
  }

  /** Recordings a previous run left open that the (connected) recorder is not recording: finish them. */
  private async settleOrphans(): Promise<void> {
    if (this.recorder.status().recording && this.phase.name === 'idle' && this.orphans.length > 0) {
      // The recorder records, but we have not heard a start: adopt the newest orphan.
      await this.onRecorderStarted({
        startedAt: this.recorder.status().startedAt ?? this.now().toISOString(),
        outputPath: this.recorder.status().outputPath,
        external: true,
      });
    }
    const orphans = this.orphans.splice(0);
    for (const orphan of orphans) {
      if (activeRecording(this.phase)?.recordingId === orphan.id) continue;
      // A crash of this process leaves ffmpeg recording (it ignores a closed stdin): stop it first.
      if (orphan.recorderPid !== null && orphan.sourcePath !== null) {
        await stopOrphanRecorder(orphan.recorderPid, orphan.sourcePath, this.logger);
      }
      this.repo.updateRecording(orphan.id, { state: 'finalizing', stoppedAt: this.now().toISOString() });
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
    const joined = await finalizeRecordingFile({
      repo: this.repo,
      recording,
      folder: session.folder,
      source,
      interrupted,
      logger: this.logger,
    });
    await this.writeMetadata(session.id);
    const view = this.announce(recordingId);
    if (this.recordingUploads) {
      await this.recordingUploads.afterFinalized(view, {
        source,
        parts: joined.parts,
        autoUpload: this.autoUpload ? { autoProcess: this.autoProcess } : undefined,
      });
    } else if (view.state === 'ready' && source) {
      // Joined and verified, and no upload to wait for: the parts can go.
      await removeSegments(source, this.logger);
    }
    return this.getRecording(recordingId) ?? view;
  }

  /** Rewrites a session's metadata file (after another part changed what `metadataExtras` returns). */
  refreshMetadata(sessionId: string): Promise<void> {
    return this.writeMetadata(sessionId);
  }

  /** Writes session_metadata.json (never rejects; see MetadataWriter). */
  private writeMetadata(sessionId: string): Promise<void> {
    return this.metadata.write(sessionId);
  }

  /** Resolves once the session's pending metadata writes are done (they never reject). */
  async whenMetadataWritten(sessionId: string): Promise<void> {
    await this.metadata.whenWritten(sessionId);
  }

  private announce(recordingId: string): RecordingView {
    const view = this.getRecording(recordingId);
    if (!view) throw new AppError('RECORDING_NOT_FOUND', `no recording ${recordingId}`);
    this.emit('recording', view);
    return view;
  }

  /**
   * The one place the manager's state changes: the move must be in RECORDING_TRANSITIONS
   * (INVALID_STATE otherwise). `announce` emits the new status at once; callers that store
   * something first pass false and emit when the store is done.
   */
  private apply(event: RecordingEvent, announce = true): void {
    const from = this.phase.name;
    this.phase = transition(this.phase, event);
    this.logger.debug({ from, to: this.phase.name, event: event.type }, 'recording state');
    if (announce) this.emitState();
  }

  private emitState(): void {
    this.emit('state', this.status());
  }

  private track(id: string, promise: Promise<RecordingView>): void {
    trackFinalization(this.finalizing, id, promise, this.logger);
  }

  private guard(promise: Promise<unknown>): void {
    promise.catch((error: unknown) => this.logger.error({ err: error }, 'recording manager task failed'));
  }
}

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import { IngestServer, ingestOptionsFromConfig } from '../ingest/index.js';
import type { Logger } from '../logging/index.js';
import { Notifier, notifyStationEvents, notifyTargets } from '../notify/index.js';
import { RetentionService } from '../retention/index.js';
import { createStationMetrics } from '../metrics/index.js';
import { buildServeParts, uploadSettingsFor } from '../composition/index.js';
import { processorFromConfig } from '../processing/index.js';
import type { Recorder } from '../recorder/index.js';
import { RecordingManager, type RecordingView as ManagedRecording } from '../sessions/index.js';
import type { Db } from '../store/index.js';
import type { Readable } from 'node:stream';
import {
  UploadHttpClient,
  UploadService,
  probeServer,
  runConnectionCheck,
  isFinished,
  isUploadState,
  type ConnectionCheck,
  type UploadProgress,
  type UploadSettings,
  type UploadTask,
} from '../uploads/index.js';
import {
  recordingView,
  statusView,
  uploadView,
  type ProcessingView,
  type RecordingView,
  type StatusView,
  type UploadView,
} from './views.js';
import { ProcessingWatcher } from './processing-watcher.js';
import { TranscriptIndex } from './transcript-index.js';
import type { SearchHit } from './contract.js';
import { packageVersion } from './version.js';

/** What the station tells its page, as typed events (the API turns them into SSE). */
export interface StationEvents {
  status: [StatusView];
  upload: [UploadView];
  recordings: [{ id: string }];
}

export interface StationOptions {
  config: Config;
  logger: Logger;
  /** A recorder to use instead of the configured one (tests). */
  recorder?: Recorder;
}

const ACTIVE_STATES = new Set(['validating', 'compressing', 'uploading']);
const PROGRESS_EVENT_INTERVAL_MS = 250;

/** The processing server's transcript output, and the largest one the station indexes. */
const TRANSCRIPT_OUTPUT = 'transcript.json';
const MAX_TRANSCRIPT_BYTES = 32 * 1024 * 1024;

/**
 * The recording station: opens the station database, starts the upload service, the recorder
 * and the RecordingManager, and — when VULTR_API_URL is unset — an embedded ingest server on
 * loopback to upload to. The API and the CLI call its methods; it knows nothing of HTTP.
 */
export class Station extends EventEmitter<StationEvents> {
  readonly config: Config;
  private readonly logger: Logger;
  private readonly recorderOverride: Recorder | undefined;
  private db: Db | undefined;
  private ingest: IngestServer | undefined;
  private uploadsService: UploadService | undefined;
  private managerInstance: RecordingManager | undefined;
  private watcher: ProcessingWatcher | undefined;
  /** Full-text index of processed transcripts (GET /api/search); undefined until started. */
  private transcripts: TranscriptIndex | undefined;
  private settings: UploadSettings | undefined;
  private outputsClient: UploadHttpClient | undefined;
  private readonly progress = new Map<string, UploadProgress>();
  private readonly lastProgressEvent = new Map<string, number>();
  /** Webhooks / Discord / ntfy (src/notify); undefined until started. */
  notifier: Notifier | undefined;
  private stopNotify: (() => void) | undefined;
  /** RECORDINGS_RETENTION and the disk guard (src/retention). */
  retention: RetentionService | undefined;
  /** Prometheus registry for GET /metrics (src/metrics). */
  metrics: ReturnType<typeof createStationMetrics> | undefined;

  constructor(options: StationOptions) {
    super();
    this.config = options.config;
    this.logger = options.logger;
    this.recorderOverride = options.recorder;
  }

  /** Starts every part; rejects (after closing what it opened) when one cannot start. */
  async start(): Promise<void> {
    const { config, logger } = this;
    try {
      let apiUrl = config.upload.apiUrl;
      let apiKey = config.upload.apiKey;
      if (apiUrl === undefined) {
        // No processing server configured: run our own on loopback so a newcomer sees the whole
        // path. It takes a random key only this process knows (issue 9.6): without one, any
        // program on the machine, or a page the user visits, could write and delete uploads.
        apiKey = randomBytes(32).toString('base64url');
        this.ingest = new IngestServer({
          ...ingestOptionsFromConfig(config, logger.child({ part: 'embedded-ingest' })),
          host: '127.0.0.1',
          port: 0,
          apiKeys: [apiKey],
          createProcessor: processorFromConfig(config),
          tlsCertPath: undefined,
          tlsKeyPath: undefined,
          notify: undefined, // the station announces uploads and processing itself
        });
        apiUrl = await this.ingest.start();
        logger.info({ url: apiUrl }, 'embedded ingest server started');
      }
      // The same composition every CLI command uses (src/composition): database, upload service,
      // recorder and manager, built but not started; the start order below is the station's.
      const parts = buildServeParts(
        config,
        logger,
        { apiUrl, apiKey },
        {
          recorder: this.recorderOverride,
          metadataExtras: (sessionId) => this.retention?.metadataFor(sessionId) ?? {},
        },
      );
      const { uploads, manager } = parts;
      this.settings = uploadSettingsFor(config, { apiUrl, apiKey });
      this.outputsClient = new UploadHttpClient(this.settings);
      this.db = parts.db;
      this.notifier = new Notifier({ db: this.db, targets: notifyTargets(config, 'station'), logger });
      this.stopNotify = notifyStationEvents(this, this.notifier, logger.child({ part: 'notify' }));
      this.notifier.start();
      const { policy, minFreeBytes } = config.retention;
      const recordingsPath = config.station.recordingsPath;
      this.retention = new RetentionService({ db: this.db, policy, minFreeBytes, recordingsPath, logger });
      this.uploadsService = uploads;
      this.watcher = new ProcessingWatcher(uploads, logger.child({ part: 'processing-watcher' }));
      this.transcripts = new TranscriptIndex(this.db, (taskId) => {
        const task = uploads.get(taskId);
        return (
          task && { fileName: task.fileName, sessionName: task.sessionName, recordingId: task.recordingId }
        );
      });
      this.metrics = createStationMetrics({
        db: this.db,
        uploads,
        isFinished: (state) => isUploadState(state) && isFinished(state),
        recorder: () => ({
          state: this.managerInstance?.status().state ?? 'idle',
          connected: this.managerInstance?.status().recorder.connected ?? false,
        }),
        webhooks: () => this.notifier?.repository,
        recordingsPath: config.station.recordingsPath,
        dataDir: config.station.dataDir,
      });
      this.managerInstance = manager;
      // Start order: everything a listener reads (uploads, watcher, manager) is built before the
      // first listener is attached, and the upload workers start last. Starting them earlier made
      // a resumed task's first `state` event call status() before the manager existed, and the
      // listener's INVALID_STATE failed the interrupted upload (issue 9.1).
      this.wireUploads(uploads, this.watcher);
      manager.on('state', () => this.emit('status', this.status()));
      manager.on('recording', (r) => this.emit('recordings', { id: r.id }));
      await manager.start();
      this.retention.start(this, (sessionId) => manager.refreshMetadata(sessionId));
      uploads.start();
      for (const task of uploads.list(20))
        if (task.state === 'completed' && task.autoProcess) this.watcher.watch(task.id);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    this.watcher?.close();
    await this.retention?.close();
    this.metrics?.close();
    await this.managerInstance
      ?.close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'manager close'));
    await this.uploadsService
      ?.close()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'uploads close'));
    await this.outputsClient?.close().catch(() => undefined);
    this.outputsClient = undefined;
    await this.ingest?.close().catch((error: unknown) => this.logger.warn({ err: error }, 'ingest close'));
    this.stopNotify?.();
    await this.notifier?.close();
    this.transcripts = undefined;
    this.db?.close();
    this.db = undefined;
    this.managerInstance = undefined;
    this.uploadsService = undefined;
    this.ingest = undefined;
  }

  /** The processing server the station uploads to, and whether it is the embedded one. */
  get vultr(): { url: string; embedded: boolean } {
    return { url: this.requireSettings().apiUrl, embedded: this.ingest !== undefined };
  }

  status(): StatusView {
    const tasks = this.uploads.list(100);
    return statusView(this.manager.status(), {
      version: packageVersion,
      uploads: {
        active: tasks.filter((t) => ACTIVE_STATES.has(t.state)).length,
        queued: tasks.filter((t) => t.state === 'queued' || t.state === 'retry_wait').length,
      },
      vultr: {
        ...this.vultr,
        autoUpload: this.config.upload.autoUpload,
        protocol: this.config.upload.protocol,
      },
    });
  }

  async startRecording(sessionName: string): Promise<RecordingView> {
    await this.retention?.assertCanRecord();
    return this.recordingView(await this.manager.startRecording(sessionName));
  }

  async stopRecording(): Promise<RecordingView> {
    return this.recordingView(await this.manager.stopRecording());
  }

  listRecordings(limit = 100): RecordingView[] {
    return this.manager.listRecordings(limit).map((r) => this.recordingView(r));
  }

  getRecording(id: string): RecordingView {
    return this.recordingView(this.requireRecording(id));
  }

  /** The file behind a recording's video/download or thumbnail; RECORDING_NOT_FOUND / FILE_NOT_FOUND. */
  recordingFile(id: string, which: 'video' | 'thumbnail'): { path: string; fileName: string } {
    const recording = this.requireRecording(id);
    const file = which === 'video' ? recording.filePath : recording.thumbnailPath;
    const deleted = which === 'video' ? this.retention?.deletedReason(id) : undefined;
    if (deleted)
      throw new AppError(
        'FILE_NOT_FOUND',
        `the local file of ${id} was deleted (${deleted}); the server keeps its copy`,
      );
    if (!file) {
      throw new AppError(
        'FILE_NOT_FOUND',
        `recording ${id} has no ${which === 'video' ? 'file' : 'thumbnail'} yet`,
      );
    }
    return { path: file, fileName: path.basename(file) };
  }

  async uploadRecording(recordingId: string, autoProcess: boolean): Promise<string> {
    return this.manager.upload(recordingId, { autoProcess });
  }

  /**
   * POST /api/vultr/upload: `id` names a recording, or (as the original's ids did) a session,
   * whose every ready recording without a completed upload is enqueued, oldest first.
   * RECORDING_NOT_FOUND when it names neither; INVALID_STATE when a session has nothing to upload.
   */
  async uploadRecordingOrSession(
    id: string,
    autoProcess: boolean,
  ): Promise<Array<{ taskId: string; recording: RecordingView }>> {
    const manager = this.manager;
    let targets: ManagedRecording[];
    if (manager.getRecording(id)) targets = [this.requireRecording(id)];
    else {
      const session = manager.getSession(id);
      if (!session) throw new AppError('RECORDING_NOT_FOUND', `no recording or session ${id}`);
      targets = session.recordings
        .filter((r) => r.state === 'ready' && !this.isUploaded(r))
        .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
      if (targets.length === 0) {
        throw new AppError(
          'INVALID_STATE',
          `session "${session.name}" has no ready recording that is not uploaded yet`,
        );
      }
    }
    const out: Array<{ taskId: string; recording: RecordingView }> = [];
    for (const recording of targets) {
      const taskId = await manager.upload(recording.id, { autoProcess });
      out.push({ taskId, recording: this.getRecording(recording.id) });
    }
    return out;
  }

  private isUploaded(recording: ManagedRecording): boolean {
    const task = recording.uploadTaskId ? this.uploads.get(recording.uploadTaskId) : undefined;
    return task?.state === 'completed';
  }

  /** The processing server's /health answer (GET /api/vultr/test's server_info), or null. */
  async serverHealth(): Promise<unknown> {
    const client = this.outputsClient;
    if (!client) throw new AppError('INVALID_STATE', 'the station is not started');
    try {
      return (await probeServer(client)).health ?? null;
    } catch (error) {
      this.logger.debug({ err: error }, 'server health unavailable');
      return null;
    }
  }

  listUploads(limit: number): UploadView[] {
    return this.uploads.list(limit).map((t) => this.uploadView(t));
  }

  uploadStatus(taskId: string): { upload: UploadView; history: ReturnType<UploadService['history']> } {
    const task = this.uploads.get(taskId);
    if (!task) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId}`);
    if (task.state === 'completed' && task.autoProcess) this.watcher?.watch(taskId);
    return { upload: this.uploadView(task), history: this.uploads.history(taskId) };
  }

  /** The processing server's own view of a task (undefined when unreachable or unknown). */
  async remoteUploadStatus(taskId: string): Promise<unknown | undefined> {
    try {
      return await this.uploads.remoteStatus(taskId);
    } catch (error) {
      this.logger.debug({ err: error, taskId }, 'remote status unavailable');
      return undefined;
    }
  }

  cancelUpload(taskId: string): UploadView {
    return this.uploadView(this.uploads.cancel(taskId));
  }

  retryUpload(taskId: string): UploadView {
    return this.uploadView(this.uploads.retry(taskId));
  }

  /**
   * A file the processing server made for an upload (thumbnail, web version, edit), streamed
   * from its GET /outputs/:task_id/:name with the station's API key, so the page never needs it.
   */
  async processedOutput(
    taskId: string,
    name: string,
    range?: string,
  ): Promise<{
    contentType: string;
    size: number | undefined;
    body: Readable;
    /** 206 with `contentRange` when a byte range was asked for (a player seeking), else 200. */
    status: number;
    contentRange: string | undefined;
  }> {
    if (!this.uploads.get(taskId)) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId}`);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(name))
      throw new AppError('BAD_REQUEST', `bad output name "${name}"`);
    const client = this.outputsClient;
    if (!client) throw new AppError('INVALID_STATE', 'the station is not started');
    const answer = await client.stream(`/outputs/${encodeURIComponent(taskId)}/${encodeURIComponent(name)}`, {
      what: 'processed output',
      ...(range === undefined ? {} : { headers: { range } }),
    });
    if (answer.status === 416) {
      answer.body.resume();
      throw new AppError('BAD_REQUEST', `the byte range "${range ?? ''}" is outside output "${name}"`);
    }
    if (answer.status !== 200 && answer.status !== 206) {
      answer.body.resume(); // drain the small error body so the connection can be reused
      if (answer.status === 404)
        throw new AppError('OUTPUT_NOT_FOUND', `the server has no output "${name}" for ${taskId}`);
      throw new AppError(
        'SERVER_ERROR',
        `the processing server answered HTTP ${answer.status} for output "${name}"`,
      );
    }
    const length = Number(answer.headers['content-length']);
    return {
      contentType: answer.headers['content-type'] ?? 'application/octet-stream',
      size: Number.isFinite(length) ? length : undefined,
      body: answer.body,
      status: answer.status,
      contentRange: answer.headers['content-range'],
    };
  }

  /** Transcript lines of every indexed recording that hold `query` as a phrase (GET /api/search). */
  searchTranscripts(query: string): { indexed: number; hits: SearchHit[] } {
    const index = this.transcripts;
    if (!index) throw new AppError('INVALID_STATE', 'the station is not started');
    return { hits: index.search(query), indexed: index.count() };
  }

  /** Reads a done task's transcript.json from the processing server into the index (once). */
  private async indexTranscript(taskId: string): Promise<void> {
    const index = this.transcripts;
    if (!index || index.has(taskId)) return;
    try {
      const output = await this.processedOutput(taskId, TRANSCRIPT_OUTPUT);
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of output.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_TRANSCRIPT_BYTES) {
          output.body.destroy();
          throw new AppError(
            'SERVER_ERROR',
            `transcript.json of ${taskId} is over ${MAX_TRANSCRIPT_BYTES} bytes`,
          );
        }
        chunks.push(chunk);
      }
      const lines = index.index(taskId, JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      this.logger.info({ taskId, lines }, 'transcript indexed');
    } catch (error) {
      this.logger.warn({ err: error, taskId }, 'transcript not indexed');
    }
  }

  /** Configuration, /health and auth against the processing server (no upload). */
  async testConnection(): Promise<ConnectionCheck[]> {
    return runConnectionCheck(this.requireSettings(), { roundTrip: false });
  }

  private wireUploads(uploads: UploadService, watcher: ProcessingWatcher): void {
    uploads.on('progress', (p) => {
      this.progress.set(p.taskId, p);
      const now = Date.now();
      if (now - (this.lastProgressEvent.get(p.taskId) ?? 0) < PROGRESS_EVENT_INTERVAL_MS) return;
      this.lastProgressEvent.set(p.taskId, now);
      const task = uploads.get(p.taskId);
      if (task) this.emit('upload', this.uploadView(task));
    });
    uploads.on('state', (task) => {
      if (task.state !== 'uploading') {
        this.progress.delete(task.id);
        this.lastProgressEvent.delete(task.id);
      }
      if (task.state === 'completed' && task.autoProcess) watcher.watch(task.id);
      this.emit('upload', this.uploadView(task));
      this.emit('status', this.status());
    });
    // An S3 task's processing request answered (s3.processing_start): the page shows it at once.
    uploads.on('changed', (task) => this.emit('upload', this.uploadView(task)));
    watcher.on('change', (taskId: string, view: ProcessingView) => {
      if (view.state === 'done' && view.outputs.some((o) => o.name === TRANSCRIPT_OUTPUT))
        void this.indexTranscript(taskId);
      const task = uploads.get(taskId);
      if (task) this.emit('upload', this.uploadView(task));
      if (task?.recordingId) this.emit('recordings', { id: task.recordingId });
    });
  }

  private uploadView(task: UploadTask): UploadView {
    return uploadView(task, this.progress.get(task.id), this.watcher?.get(task.id) ?? null);
  }

  private recordingView(recording: ManagedRecording): RecordingView {
    const task = recording.uploadTaskId ? this.uploads.get(recording.uploadTaskId) : undefined;
    return recordingView(recording, task ? this.uploadView(task) : null);
  }

  private requireRecording(id: string): ManagedRecording {
    const recording = this.manager.getRecording(id);
    if (!recording) throw new AppError('RECORDING_NOT_FOUND', `no recording ${id}`);
    return recording;
  }

  private get manager(): RecordingManager {
    if (!this.managerInstance) throw new AppError('INVALID_STATE', 'the station is not started');
    return this.managerInstance;
  }

  /** The station's upload service (for callers that upload files that are not recordings). */
  get uploadService(): UploadService {
    return this.uploads;
  }

  private get uploads(): UploadService {
    if (!this.uploadsService) throw new AppError('INVALID_STATE', 'the station is not started');
    return this.uploadsService;
  }

  private requireSettings(): UploadSettings {
    if (!this.settings) throw new AppError('INVALID_STATE', 'the station is not started');
    return this.settings;
  }
}

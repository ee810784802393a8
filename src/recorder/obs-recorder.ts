import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { OBSWebSocket, OBSWebSocketError } from 'obs-websocket-js';
import { AppError, type ErrorCode } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import {
  callObs,
  profileOf,
  describeConnectError,
  isFile,
  messageOf,
  waitForFinish,
  waitForRecordState,
  withTimeout,
  type RecordStateChanged,
  type RequestMap,
  type ResponseMap,
} from './obs-helpers.js';
import { loadObsWebSocket } from './obs-client.js';
import { ObsParts, type PartsHost } from './obs-parts.js';
import {
  resolveObsOptions,
  type ObsRecorderOptions,
  type ResolvedObsOptions,
} from './obs-recorder-options.js';
import {
  applyProfile,
  planSegments,
  segmentationOf,
  restoreProfile,
  type ObsSegmentation,
  type ProfileChange,
} from './obs-split-settings.js';
import type {
  Recorder,
  RecorderEvents,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingStartedEvent,
  StartRecordingOptions,
} from './recorder.js';

export type { ObsRecorderOptions } from './obs-recorder-options.js';

/** obs-websocket's request status when the output is not running. */
const OUTPUT_NOT_RUNNING = 501;

interface ActiveRecording {
  startedAt: string;
  outputPath: string | null;
  external: boolean;
  stopRequested: boolean;
  /** A segmented recording: how it is cut, and who collects its closed files. */
  segmentation?: ObsSegmentation;
  parts?: ObsParts;
  /** Reporting the end after OBS stopped: one run, whoever asks. */
  finishing?: Promise<RecordingFinishedEvent | undefined>;
}

/**
 * Drives OBS Studio over obs-websocket v5. The recorded file comes from OBS's own answer
 * (RecordStateChanged / StopRecord's outputPath), and a recording counts as finished only on
 * OBS_WEBSOCKET_OUTPUT_STOPPED, because StopRecord answers before OBS has closed the file.
 * Recordings started or stopped in OBS itself are reported as external. When the connection
 * drops, it reconnects with exponential backoff and reconciles with GetRecordStatus.
 */
export class ObsRecorder extends EventEmitter<RecorderEvents> implements Recorder {
  readonly kind = 'obs' as const;
  private readonly options: ResolvedObsOptions;
  private readonly logger: Logger;
  private client: OBSWebSocket | undefined;
  private connected = false;
  private closed = true;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay: number;
  private connecting: Promise<void> | undefined;
  private lastError: { code: ErrorCode; message: string } | null = null;
  private version: string | null = null;
  private canSetRecordDirectory = false;
  /** obs-websocket ≥ 5.5: SplitRecordFile and RecordFileChanged. */
  private canSplitRequest = false;
  private recording: ActiveRecording | undefined;
  /** Where finished segmented recordings are joined (not OBS's files when they appear). */
  private readonly joinTargets = new Set<string>();

  constructor(options: ObsRecorderOptions) {
    super();
    this.options = resolveObsOptions(options);
    this.logger = options.logger ?? silentLogger();
    this.reconnectDelay = this.options.reconnectInitialMs;
  }

  get url(): string {
    const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
    return `ws://${host}:${this.options.port}`;
  }

  /** Tries to connect once; on failure keeps trying in the background (status says why). */
  async start(): Promise<void> {
    this.closed = false;
    await this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    // OBS records on without us: stop following its files (a restarted station adopts the recording).
    this.recording?.parts?.stop();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.connecting?.catch(() => undefined);
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) {
      client.removeAllListeners();
      await withTimeout(client.disconnect(), 2000, 'disconnect').catch(() => undefined);
    }
  }

  status(): RecorderStatus {
    return {
      kind: 'obs',
      connected: this.connected,
      reconnecting: !this.connected && this.reconnectTimer !== undefined,
      recording: this.recording !== undefined,
      startedAt: this.recording?.startedAt ?? null,
      outputPath: this.recording?.outputPath ?? null,
      recordsIntoDirectory: this.canSetRecordDirectory,
      lastError: this.lastError,
      version: this.version,
      segmentation: this.recording?.segmentation ?? null,
    };
  }

  async startRecording(options: StartRecordingOptions): Promise<RecordingStartedEvent> {
    const client = this.requireClient();
    if (this.recording) throw new AppError('ALREADY_RECORDING', 'OBS is already recording');
    // OBS answers a second StartRecord with success, so ask first rather than trust the answer.
    const current = await this.call(client, 'GetRecordStatus');
    if (current.outputActive) throw new AppError('ALREADY_RECORDING', 'OBS is already recording');

    const plan =
      this.options.segmentSeconds > 0
        ? await planSegments(profileOf(client, this.options.requestTimeoutMs), {
            seconds: this.options.segmentSeconds,
            sizeMb: this.options.splitSizeMb,
            canSplitRequest: this.canSplitRequest,
            logger: this.logger,
          })
        : undefined;
    let previousDirectory: string | undefined;
    if (this.canSetRecordDirectory) {
      previousDirectory = (await this.call(client, 'GetRecordDirectory')).recordDirectory;
      await this.call(client, 'SetRecordDirectory', { recordDirectory: options.directory });
    }
    const recording: ActiveRecording = {
      startedAt: new Date().toISOString(),
      outputPath: null,
      external: false,
      stopRequested: false,
      ...(plan ? { segmentation: segmentationOf(plan) } : {}),
    };
    this.recording = recording;
    let applied: ProfileChange[] = [];
    try {
      applied = await applyProfile(profileOf(client, this.options.requestTimeoutMs), plan?.changes ?? []);
      const started = waitForRecordState(
        client,
        'OBS_WEBSOCKET_OUTPUT_STARTED',
        this.options.requestTimeoutMs,
      );
      await this.call(client, 'StartRecord');
      const event = await started;
      if (event.outputPath) recording.outputPath = event.outputPath;
    } catch (error) {
      if (this.recording === recording) this.recording = undefined;
      throw error instanceof AppError
        ? error
        : new AppError('RECORDER_UNAVAILABLE', `OBS did not start recording: ${messageOf(error)}`, {
            cause: error,
          });
    } finally {
      // OBS has opened its file and read its output settings (it reads them once, at the start):
      // put the user's own settings back at once, so a station that dies mid-recording leaves
      // OBS as the user set it.
      await restoreProfile(profileOf(client, this.options.requestTimeoutMs), applied, this.logger);
      if (previousDirectory !== undefined) {
        await this.call(client, 'SetRecordDirectory', { recordDirectory: previousDirectory }).catch(
          (error: unknown) => this.logger.warn({ err: error }, 'could not restore OBS record directory'),
        );
      }
    }
    if (plan && plan.mode !== 'one-file') await this.followSplits(recording, plan.seconds);
    const event: RecordingStartedEvent = {
      startedAt: recording.startedAt,
      outputPath: recording.outputPath,
      external: false,
    };
    this.emit('started', event);
    recording.parts?.watch();
    return event;
  }

  /** From OBS's first file on: collect each file it closes, and ask for the cuts when it is ours to ask. */
  private async followSplits(recording: ActiveRecording, seconds: number | null): Promise<void> {
    if (!recording.outputPath) {
      const reason = 'OBS reported no file: its parts cannot be followed';
      recording.segmentation = { mode: 'one-file', seconds: null, sizeMb: null, reason };
      return;
    }
    recording.parts = await ObsParts.begin(this.partsHost(), {
      outputPath: recording.outputPath,
      startedAt: recording.startedAt,
      segmentation: recording.segmentation ?? { mode: 'auto-split', seconds, sizeMb: null, reason: null },
    });
  }

  private partsHost(): PartsHost {
    return {
      logger: this.logger,
      stateFile: this.options.stateFile,
      emitSegment: (segment) => this.emit('segment', segment),
      split: async () => {
        const client = this.client;
        if (client && this.connected) await this.call(client, 'SplitRecordFile');
      },
      foreign: (file) => this.joinTargets.has(path.resolve(file)),
    };
  }

  async stopRecording(): Promise<RecordingFinishedEvent> {
    const recording = this.recording;
    if (!recording) throw new AppError('NOT_RECORDING', 'OBS is not recording');
    const client = this.requireClient();
    recording.stopRequested = true;
    const finished = waitForFinish(this, this.options.stopTimeoutMs);
    try {
      const answer = await this.call(client, 'StopRecord');
      // StopRecord answers before the file is closed: remember the path, wait for STOPPED.
      if (answer.outputPath && !recording.outputPath) recording.outputPath = answer.outputPath;
    } catch (error) {
      if (!(error instanceof AppError && error.details?.['obsCode'] === OUTPUT_NOT_RUNNING)) {
        recording.stopRequested = false;
        finished.catch(() => undefined);
        throw error;
      }
      // Already stopping or stopped (someone else pressed stop): the STOPPED event still comes.
    }
    try {
      return await finished;
    } catch (error) {
      // No STOPPED event in time: trust GetRecordStatus and the file on disk.
      const status = await this.call(client, 'GetRecordStatus').catch(() => undefined);
      if (status && !status.outputActive) {
        const file = recording.outputPath;
        if (recording.parts) return (await this.finishParts(recording, false)) ?? Promise.reject(error);
        if (file && (await isFile(file))) return this.finish(recording, file, false);
      }
      throw error;
    }
  }

  private requireClient(): OBSWebSocket {
    if (this.connected && this.client) return this.client;
    const error = this.lastError ?? { code: 'OBS_UNREACHABLE' as const, message: `OBS is not connected` };
    throw new AppError(error.code, error.message);
  }

  private async connect(): Promise<void> {
    if (this.connecting) return this.connecting;
    this.connecting = this.connectOnce().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connectOnce(): Promise<void> {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    // Loaded here, not at import (obs-client.ts): only a recorder that talks to OBS needs it.
    const { OBSWebSocket } = await loadObsWebSocket();
    const client = new OBSWebSocket();
    try {
      await withTimeout(
        client.connect(this.url, this.options.password),
        this.options.requestTimeoutMs,
        'OBS handshake',
      );
      if (this.closed) {
        await client.disconnect().catch(() => undefined);
        return;
      }
      const version = await this.call(client, 'GetVersion');
      this.version = `OBS ${version.obsVersion}, obs-websocket ${version.obsWebSocketVersion}`;
      this.canSetRecordDirectory = version.availableRequests.includes('SetRecordDirectory');
      this.canSplitRequest = version.availableRequests.includes('SplitRecordFile');
      this.client = client;
      client.on('RecordStateChanged', (event) => this.onRecordStateChanged(event));
      client.on('RecordFileChanged', () => this.recording?.parts?.fileChanged());
      client.on('ConnectionClosed', (error) => this.onConnectionClosed(client, error));
      this.connected = true;
      this.lastError = null;
      this.reconnectDelay = this.options.reconnectInitialMs;
      this.logger.info({ url: this.url, version: this.version }, 'connected to OBS');
      await this.reconcile(client);
      this.emit('status', this.status());
    } catch (error) {
      client.removeAllListeners();
      await withTimeout(client.disconnect(), 2000, 'disconnect').catch(() => undefined);
      this.connected = false;
      this.lastError = describeConnectError(error, this.url);
      this.logger.warn({ err: error, url: this.url }, 'could not connect to OBS');
      this.scheduleReconnect();
      this.emit('status', this.status());
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.options.reconnectMaxMs);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.connect();
    }, delay);
  }

  private onConnectionClosed(client: OBSWebSocket, error: OBSWebSocketError): void {
    if (client !== this.client) return;
    client.removeAllListeners();
    this.client = undefined;
    this.connected = false;
    if (this.closed) return;
    this.lastError = { code: 'OBS_UNREACHABLE', message: `lost the connection to OBS (${error.code})` };
    this.logger.warn({ code: error.code, reason: error.message }, 'OBS connection lost');
    this.scheduleReconnect();
    this.emit('status', this.status());
  }

  /** After (re)connecting: align what we believe with what OBS says. */
  private async reconcile(client: OBSWebSocket): Promise<void> {
    const status = await this.call(client, 'GetRecordStatus');
    const recording = this.recording;
    if (!recording) {
      await this.resumeFollower(status.outputActive ? Date.now() - status.outputDuration : undefined);
    } else if (!status.outputActive) {
      // It ended while we were not connected (OBS closed or killed): the file is what it wrote.
      if (recording.parts) {
        await this.finishParts(recording, true);
      } else if (recording.outputPath && (await isFile(recording.outputPath))) {
        this.finish(recording, recording.outputPath, true);
      } else {
        this.recording = undefined;
        this.emit('lost', {
          startedAt: recording.startedAt,
          stoppedAt: new Date().toISOString(),
          message: 'OBS stopped recording while disconnected and did not report a file',
        });
      }
    }
  }

  /**
   * Connected with no recording of ours: OBS may record one a previous station run started (or
   * started itself, `startedAtMs`), and that run may have left its parts' follow state. A state
   * with OBS idle is a recording that ended while no station watched: finished now from its
   * files. With OBS recording, the state is taken as that recording's unless OBS began well
   * before it (pauses make OBS's own start look later, never earlier). Taking a stale state for
   * a new recording joins the two; the other mistake would move a file OBS still writes.
   */
  private async resumeFollower(startedAtMs: number | undefined): Promise<void> {
    // Nobody to hand a recording to (a status probe): the state waits for the station.
    const listened = this.listenerCount('finished') > 0;
    let parts = listened ? await ObsParts.resume(this.partsHost()) : undefined;
    if (parts && (startedAtMs === undefined || startedAtMs < Date.parse(parts.startedAt) - 10_000)) {
      const ended = { startedAt: parts.startedAt, outputPath: parts.outputPath, external: true };
      await this.finishParts({ ...ended, stopRequested: false, parts }, true);
      parts = undefined;
    }
    if (startedAtMs === undefined) return;
    const startedAt = parts?.startedAt ?? new Date(startedAtMs).toISOString();
    const outputPath = parts?.outputPath ?? null;
    this.recording = {
      startedAt,
      outputPath,
      external: true,
      stopRequested: false,
      ...(parts ? { parts, segmentation: parts.segmentation } : {}),
    };
    this.emit('started', { startedAt, outputPath, external: true });
    parts?.watch();
  }

  private onRecordStateChanged(event: RecordStateChanged): void {
    this.logger.debug({ event }, 'OBS RecordStateChanged');
    if (event.outputState === 'OBS_WEBSOCKET_OUTPUT_STARTED') {
      if (this.recording) {
        if (event.outputPath) this.recording.outputPath = event.outputPath;
        return;
      }
      const started: RecordingStartedEvent = {
        startedAt: new Date().toISOString(),
        outputPath: event.outputPath,
        external: true,
      };
      this.recording = { ...started, stopRequested: false };
      this.emit('started', started);
    } else if (event.outputState === 'OBS_WEBSOCKET_OUTPUT_STOPPED') {
      if (this.recording?.parts) {
        // OBS names its first file here; the parts are what the follower collected.
        void this.finishParts(this.recording, false);
        return;
      }
      const recording = this.recording ?? {
        startedAt: new Date().toISOString(),
        outputPath: null,
        external: true,
        stopRequested: false,
      };
      const file = event.outputPath ?? recording.outputPath;
      if (file) this.finish(recording, file, false);
      else {
        this.recording = undefined;
        this.emit('lost', {
          startedAt: recording.startedAt,
          stoppedAt: new Date().toISOString(),
          message: 'OBS stopped recording without reporting a file',
        });
      }
    }
  }

  /**
   * A segmented recording ended: moves OBS's last files into the parts folder, then reports it
   * finished with its parts (or lost, with none). Once per recording, whoever asks first.
   */
  private finishParts(
    recording: ActiveRecording,
    interrupted: boolean,
  ): Promise<RecordingFinishedEvent | undefined> {
    const collector = recording.parts;
    if (!collector) return Promise.resolve(undefined);
    recording.finishing ??= collector.collect(interrupted).then((parts) => {
      this.joinTargets.add(path.resolve(collector.outputPath));
      if (parts.length > 0) return this.finish(recording, collector.outputPath, interrupted, parts);
      if (this.recording === recording) this.recording = undefined;
      this.emit('lost', {
        startedAt: recording.startedAt,
        stoppedAt: new Date().toISOString(),
        message: 'OBS stopped recording and none of its files could be collected',
      });
      return undefined;
    });
    return recording.finishing;
  }

  private finish(
    recording: ActiveRecording,
    outputPath: string,
    interrupted: boolean,
    segments?: string[],
  ): RecordingFinishedEvent {
    if (this.recording === recording) this.recording = undefined;
    const event: RecordingFinishedEvent = {
      outputPath,
      startedAt: recording.startedAt,
      stoppedAt: new Date().toISOString(),
      external: !recording.stopRequested,
      interrupted,
      ...(segments ? { segments } : {}),
    };
    this.emit('finished', event);
    return event;
  }

  /** One request, bounded in time, with OBS's failures turned into AppErrors. */
  private call<T extends keyof RequestMap>(
    client: OBSWebSocket,
    request: T,
    data?: RequestMap[T],
  ): Promise<ResponseMap[T]> {
    return callObs(client, request, data, this.options.requestTimeoutMs);
  }
}

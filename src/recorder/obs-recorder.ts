import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { OBSWebSocket, OBSWebSocketError } from 'obs-websocket-js';
import { AppError, type ErrorCode } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import type {
  Recorder,
  RecorderEvents,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingStartedEvent,
  StartRecordingOptions,
} from './recorder.js';

/** Options of the OBS recorder; defaults in brackets. */
export interface ObsRecorderOptions {
  host: string;
  port: number;
  password?: string | undefined;
  logger?: Logger;
  /** First reconnect delay, doubled after each failure up to reconnectMaxMs [500 ms]. */
  reconnectInitialMs?: number;
  /** [10 s] */
  reconnectMaxMs?: number;
  /** Bound on each websocket request and on the identify handshake [10 s]. */
  requestTimeoutMs?: number;
  /** How long OBS may take to report the file complete after StopRecord [30 s]. */
  stopTimeoutMs?: number;
}

/** obs-websocket's close code for a wrong or missing password. */
const AUTHENTICATION_FAILED = 4009;
/** obs-websocket's request status when the output is not running. */
const OUTPUT_NOT_RUNNING = 501;

interface ActiveRecording {
  startedAt: string;
  outputPath: string | null;
  external: boolean;
  stopRequested: boolean;
}

interface RecordStateChanged {
  outputActive: boolean;
  outputState: string;
  outputPath: string | null;
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
  private readonly options: Required<Omit<ObsRecorderOptions, 'password' | 'logger'>> & {
    password: string | undefined;
  };
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
  private recording: ActiveRecording | undefined;

  constructor(options: ObsRecorderOptions) {
    super();
    this.options = {
      host: options.host,
      port: options.port,
      password: options.password,
      reconnectInitialMs: options.reconnectInitialMs ?? 500,
      reconnectMaxMs: options.reconnectMaxMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 30_000,
    };
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
    };
  }

  async startRecording(options: StartRecordingOptions): Promise<RecordingStartedEvent> {
    const client = this.requireClient();
    if (this.recording) throw new AppError('ALREADY_RECORDING', 'OBS is already recording');
    // OBS answers a second StartRecord with success, so ask first rather than trust the answer.
    const current = await this.call(client, 'GetRecordStatus');
    if (current.outputActive) throw new AppError('ALREADY_RECORDING', 'OBS is already recording');

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
    };
    this.recording = recording;
    try {
      const started = this.waitForRecordState(client, 'OBS_WEBSOCKET_OUTPUT_STARTED');
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
      // OBS has opened its file; put the user's own setting back for their next recording.
      if (previousDirectory !== undefined) {
        await this.call(client, 'SetRecordDirectory', { recordDirectory: previousDirectory }).catch(
          (error: unknown) => this.logger.warn({ err: error }, 'could not restore OBS record directory'),
        );
      }
    }
    const event: RecordingStartedEvent = {
      startedAt: recording.startedAt,
      outputPath: recording.outputPath,
      external: false,
    };
    this.emit('started', event);
    return event;
  }

  async stopRecording(): Promise<RecordingFinishedEvent> {
    const recording = this.recording;
    if (!recording) throw new AppError('NOT_RECORDING', 'OBS is not recording');
    const client = this.requireClient();
    recording.stopRequested = true;
    const finished = this.waitForFinish(this.options.stopTimeoutMs);
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
      if (status && !status.outputActive && recording.outputPath && (await isFile(recording.outputPath))) {
        return this.finish(recording, recording.outputPath, false);
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
      this.client = client;
      client.on('RecordStateChanged', (event) => this.onRecordStateChanged(event));
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
    if (status.outputActive && !recording) {
      // Recording already (started in OBS before we connected, or while we were away).
      const startedAt = new Date(Date.now() - status.outputDuration).toISOString();
      this.recording = { startedAt, outputPath: null, external: true, stopRequested: false };
      this.emit('started', { startedAt, outputPath: null, external: true });
    } else if (!status.outputActive && recording) {
      // It ended while we were not connected (OBS closed or killed): the file is what it wrote.
      if (recording.outputPath && (await isFile(recording.outputPath))) {
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

  private finish(
    recording: ActiveRecording,
    outputPath: string,
    interrupted: boolean,
  ): RecordingFinishedEvent {
    if (this.recording === recording) this.recording = undefined;
    const event: RecordingFinishedEvent = {
      outputPath,
      startedAt: recording.startedAt,
      stoppedAt: new Date().toISOString(),
      external: !recording.stopRequested,
      interrupted,
    };
    this.emit('finished', event);
    return event;
  }

  private waitForFinish(timeoutMs: number): Promise<RecordingFinishedEvent> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.off('finished', onFinished);
        this.off('lost', onLost);
      };
      const onFinished = (event: RecordingFinishedEvent) => {
        cleanup();
        resolve(event);
      };
      const onLost = (event: { message: string }) => {
        cleanup();
        reject(new AppError('RECORDER_UNAVAILABLE', event.message));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new AppError('RECORDER_UNAVAILABLE', `OBS did not finish the recording within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.on('finished', onFinished);
      this.on('lost', onLost);
    });
  }

  private waitForRecordState(client: OBSWebSocket, state: string): Promise<RecordStateChanged> {
    return new Promise((resolve, reject) => {
      const onEvent = (event: RecordStateChanged) => {
        if (event.outputState !== state) return;
        clearTimeout(timer);
        client.off('RecordStateChanged', onEvent);
        resolve(event);
      };
      const timer = setTimeout(() => {
        client.off('RecordStateChanged', onEvent);
        reject(new AppError('RECORDER_UNAVAILABLE', `OBS did not report ${state}`));
      }, this.options.requestTimeoutMs);
      client.on('RecordStateChanged', onEvent);
    });
  }

  /** One request, bounded in time, with OBS's failures turned into AppErrors. */
  private async call<T extends keyof RequestMap>(
    client: OBSWebSocket,
    request: T,
    data?: RequestMap[T],
  ): Promise<ResponseMap[T]> {
    try {
      return (await withTimeout(
        client.call(request, data as never) as Promise<ResponseMap[T]>,
        this.options.requestTimeoutMs,
        request,
      )) as ResponseMap[T];
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof OBSWebSocketError) {
        throw new AppError(
          'RECORDER_UNAVAILABLE',
          `OBS refused ${request}: ${error.message} (${error.code})`,
          {
            cause: error,
            details: { obsCode: error.code },
          },
        );
      }
      throw new AppError('OBS_UNREACHABLE', `OBS request ${request} failed: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
}

type Requests = import('obs-websocket-js').OBSRequestTypes;
type Responses = import('obs-websocket-js').OBSResponseTypes;
type RequestMap = Pick<
  Requests,
  | 'GetVersion'
  | 'GetRecordStatus'
  | 'StartRecord'
  | 'StopRecord'
  | 'GetRecordDirectory'
  | 'SetRecordDirectory'
>;
type ResponseMap = Pick<
  Responses,
  | 'GetVersion'
  | 'GetRecordStatus'
  | 'StartRecord'
  | 'StopRecord'
  | 'GetRecordDirectory'
  | 'SetRecordDirectory'
>;

function describeConnectError(error: unknown, url: string): { code: ErrorCode; message: string } {
  if (error instanceof OBSWebSocketError && error.code === AUTHENTICATION_FAILED) {
    return { code: 'OBS_AUTH_FAILED', message: `OBS refused the password (check OBS_PASSWORD) at ${url}` };
  }
  return { code: 'OBS_UNREACHABLE', message: `cannot reach OBS at ${url}: ${messageOf(error)}` };
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.constructor.name;
  return String(error);
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AppError('OBS_UNREACHABLE', `${what} got no answer within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

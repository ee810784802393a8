import { stat } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig, type Config } from '../config/index.js';
import { AppError, toAppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { openDatabase, stationMigrations } from '../store/index.js';
import {
  UploadHttpClient,
  UploadService,
  fetchRemoteStatus,
  isTaskId,
  runConnectionCheck,
  uploadSettingsFromConfig,
  type ConnectionCheck,
  type UploadProgress,
  type UploadSettings,
  type UploadTask,
} from '../uploads/index.js';

/** How the service is configured: by default from the environment and ./.env, read at first use. */
export interface VultrServiceOptions {
  config?: Config;
  /** Environment to read instead of process.env (ignored when `config` is given). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
}

export interface UploadFileOptions {
  /** Sent as `session_name` [the file's name without extension]. */
  sessionName?: string;
  /** Ask the server to process the upload [true]. */
  autoProcess?: boolean;
  /** Progress reports while bytes are sent. */
  onProgress?: (progress: UploadProgress) => void;
}

/** A failure, as every method reports it instead of throwing: the stable code and one line. */
export interface ServiceError {
  code: string;
  message: string;
}

/** What `uploadFile` resolves with: the original client's fields, plus ours. */
export interface UploadFileResult {
  success: boolean;
  task_id: string | null;
  file_name: string;
  /** Bytes of the file as given. */
  file_size: number | null;
  /** When the upload was queued, `YYYY-MM-DD HH:MM:SS` local time (the original's format). */
  upload_time: string | null;
  /** Seconds from queueing to the server's confirmation. */
  duration_seconds: number | null;
  /** The file's sha256, confirmed by the server when `success`. */
  sha256: string | null;
  protocol: 'tus' | 'multipart' | null;
  state: string | null;
  message: string;
  error?: ServiceError;
}

/** `YYYY-MM-DD HH:MM:SS` in local time, as the original client wrote upload_time. */
export function originalTime(iso: string): string {
  const d = new Date(iso);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function failure(error: unknown): { success: false; error: ServiceError } {
  const e = toAppError(error);
  return { success: false, error: { code: e.code, message: e.message } };
}

/**
 * The documents' upload service as a library (`vultrService.uploadFile(path)`, …): each call
 * opens what it needs and closes it, so a script exits when it is done. Uploads go through the
 * same durable queue as the station and the CLI (`<STREAMAI_DATA_DIR>/streamai.db`): resumable,
 * verified by sha256, retried. Methods resolve with `success: false` and an `error` {code,
 * message} rather than throw.
 */
export class VultrService {
  private resolved: Config | undefined;

  constructor(private readonly options: VultrServiceOptions = {}) {}

  private get config(): Config {
    this.resolved ??= this.options.config ?? loadConfig(this.options.env ? { env: this.options.env } : {});
    return this.resolved;
  }

  private get logger(): Logger {
    return this.options.logger ?? silentLogger();
  }

  private settings(): UploadSettings {
    return uploadSettingsFromConfig(this.config);
  }

  /** Uploads one file and waits until the server confirmed it (or the upload failed for good). */
  async uploadFile(filePath: string, options: UploadFileOptions = {}): Promise<UploadFileResult> {
    const fileName = path.basename(filePath);
    let fileSize: number | null = null;
    try {
      fileSize = (
        await stat(filePath).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT' || error.code === 'ENOTDIR')
            throw new AppError('FILE_NOT_FOUND', `no file ${filePath}`);
          throw error;
        })
      ).size;
      const settings = this.settings();
      const db = openDatabase(path.join(this.config.station.dataDir, 'streamai.db'), stationMigrations);
      const service = new UploadService({ db, settings, logger: this.logger });
      try {
        const queued = await service.enqueue(filePath, {
          sessionName: options.sessionName ?? path.parse(filePath).name,
          autoProcess: options.autoProcess ?? true,
        });
        const onProgress = options.onProgress;
        if (onProgress) service.on('progress', (p) => p.taskId === queued.id && onProgress(p));
        service.start();
        return this.uploadResult(await service.waitFor(queued.id), fileSize);
      } finally {
        await service.close();
        db.close();
      }
    } catch (error) {
      return {
        ...failure(error),
        task_id: null,
        file_name: fileName,
        file_size: fileSize,
        upload_time: null,
        duration_seconds: null,
        sha256: null,
        protocol: null,
        state: null,
        message: toAppError(error).message,
      };
    }
  }

  private uploadResult(task: UploadTask, fileSize: number): UploadFileResult {
    const ok = task.state === 'completed';
    const duration =
      task.completedAt === null ? null : (Date.parse(task.completedAt) - Date.parse(task.createdAt)) / 1000;
    return {
      success: ok,
      task_id: task.id,
      file_name: task.fileName,
      file_size: fileSize,
      upload_time: originalTime(task.createdAt),
      duration_seconds: duration,
      sha256: task.sha256,
      protocol: task.protocol,
      state: task.state,
      message: ok
        ? `uploaded ${task.fileName}; sha256 confirmed by the server`
        : `upload ${task.state}: ${task.lastError?.message ?? 'no reason given'}`,
      ...(ok ? {} : { error: task.lastError ?? { code: 'UPLOAD_FAILED', message: task.state } }),
    };
  }

  /** Configuration, the server's /health and the API key (no upload). */
  async testConnection(): Promise<{
    success: boolean;
    message: string;
    checks: ConnectionCheck[];
    server_info: unknown;
    error?: ServiceError;
  }> {
    try {
      const settings = this.settings();
      const checks = await runConnectionCheck(settings, { roundTrip: false, logger: this.logger });
      const ok = checks.every((c) => c.ok);
      const serverInfo = ok ? await this.getJson(settings, '/health').catch(() => null) : null;
      const bad = checks.find((c) => !c.ok);
      return {
        success: ok,
        message: ok ? `connected to ${settings.apiUrl}` : `${bad?.name}: ${bad?.detail}`,
        checks,
        server_info: serverInfo,
      };
    } catch (error) {
      return { ...failure(error), message: toAppError(error).message, checks: [], server_info: null };
    }
  }

  /** The server's view of a task (GET /status/:task_id): state, upload, processing. */
  async getUploadStatus(taskId: string): Promise<{
    success: boolean;
    task_id: string;
    state: string | null;
    server: unknown;
    error?: ServiceError;
  }> {
    try {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(taskId) && !isTaskId(taskId))
        throw new AppError('INVALID_TASK_ID', `"${taskId}" is not a task id`);
      const settings = this.settings();
      const http = new UploadHttpClient(settings);
      try {
        const remote = await fetchRemoteStatus(http, taskId);
        if (!remote) throw new AppError('TASK_NOT_FOUND', `the server does not know task ${taskId}`);
        return { success: true, task_id: taskId, state: remote.state ?? null, server: remote.body };
      } finally {
        await http.close();
      }
    } catch (error) {
      return { ...failure(error), task_id: taskId, state: null, server: null };
    }
  }

  /** The server's most recent uploads (GET /uploads?limit=N), most recent first. */
  async listUploads(limit = 10): Promise<{ success: boolean; uploads: unknown[]; error?: ServiceError }> {
    try {
      if (!Number.isInteger(limit) || limit < 1 || limit > 100)
        throw new AppError('BAD_REQUEST', `limit must be a whole number from 1 to 100 (got ${limit})`);
      const body = await this.getJson(this.settings(), `/uploads?limit=${limit}`);
      const uploads = Array.isArray(body) ? body : ((body as { uploads?: unknown[] } | null)?.uploads ?? []);
      return { success: true, uploads };
    } catch (error) {
      return { ...failure(error), uploads: [] };
    }
  }

  /** The configuration in use, without secrets (the original's get_config_info). */
  getConfigInfo(): Record<string, unknown> {
    const u = this.config.upload;
    return {
      api_url: u.apiUrl ?? null,
      upload_endpoint: u.endpoint,
      api_key_configured: u.apiKey !== undefined,
      auto_upload: u.autoUpload,
      protocol: u.protocol,
      retries: u.retries,
      timeout_seconds: u.requestTimeoutMs / 1000,
      chunk_size_bytes: u.chunkSizeBytes,
      max_rate_bytes_per_second: u.maxRateBytesPerSecond ?? null,
      compress: u.compress,
      data_dir: this.config.station.dataDir,
    };
  }

  private async getJson(settings: UploadSettings, pathAndQuery: string): Promise<unknown> {
    const http = new UploadHttpClient(settings);
    try {
      const answer = await http.short('GET', pathAndQuery, {
        what: pathAndQuery.split('?')[0] ?? pathAndQuery,
      });
      if (answer.status !== 200)
        throw new AppError('SERVER_ERROR', `${pathAndQuery}: the server answered HTTP ${answer.status}`);
      return JSON.parse(answer.text) as unknown;
    } finally {
      await http.close();
    }
  }
}

/** The default service, configured from the environment (and ./.env) when first used. */
export const vultrService = new VultrService();

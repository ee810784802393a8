import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { AppError } from '../errors/index.js';
import { clusterConfig, type ClusterConfig } from './cluster-config.js';
import { envSchema, type ParsedEnv, type RetentionPolicy } from './schema.js';
import { storageConfig, type StorageConfig } from './object-storage-config.js';

/** The typed configuration every part receives; nothing else reads the environment. */
export interface Config {
  logLevel: ParsedEnv['LOG_LEVEL'];
  logFile: string;
  station: {
    host: string;
    port: number;
    apiToken: string | undefined;
    dataDir: string;
    recordingsPath: string;
  };
  recorder: {
    kind: 'obs' | 'ffmpeg';
    ffmpegSource: string;
    obs: { host: string; port: number; password: string | undefined };
    /** RECORDING_SEGMENT_SECONDS: a closed part every N seconds; 0 = one file. */
    segmentSeconds: number;
  };
  upload: {
    /** Undefined when no server is configured: the station then runs an embedded ingest server. */
    apiUrl: string | undefined;
    endpoint: string;
    autoUpload: boolean;
    apiKey: string | undefined;
    protocol: 'auto' | 'tus' | 'multipart';
    retries: number;
    requestTimeoutMs: number;
    connectTimeoutMs: number;
    stallTimeoutMs: number;
    concurrency: number;
    maxRateBytesPerSecond: number | undefined;
    chunkSizeBytes: number;
    compress: 'none' | 'h264' | 'h265';
    caCertPath: string | undefined;
  };
  ingest: {
    host: string;
    port: number;
    dataDir: string;
    apiKeys: string[];
    maxUploadBytes: number;
    diskReserveBytes: number;
    tlsCertPath: string | undefined;
    tlsKeyPath: string | undefined;
    tusExpirationMs: number;
    workers: number;
    stepTimeoutMs: number;
    silenceThresholdDb: number;
    silenceMinSeconds: number;
    chapters: boolean;
    /** Browser origins allowed by CORS (exact `scheme://host[:port]`); empty: no CORS. */
    corsOrigins: string[];
    /** Speech to text (issue 14): INGEST_TRANSCRIBE, INGEST_WHISPER_BIN, INGEST_WHISPER_MODEL. */
    transcribe: 'off' | 'pocketsphinx' | 'whisper';
    whisperBin: string | undefined;
    whisperModel: string | undefined;
  };
  /** Webhooks and human notifications (src/notify). */
  notify: {
    stationWebhookUrls: string[];
    stationWebhookSecret: string | undefined;
    ingestWebhookUrls: string[];
    ingestWebhookSecret: string | undefined;
    discordUrl: string | undefined;
    ntfyUrl: string | undefined;
  };
  /** Local recordings: what may be deleted once the server confirmed it, and the free-space floor. */
  retention: {
    policy: RetentionPolicy;
    minFreeBytes: number;
  };
  /** UPLOAD_TARGET, INGEST_STORAGE and the S3_* bucket (object-storage-config.ts). */
  storage: StorageConfig;
  /** DATABASE_URL and QUEUE_URL: several ingest nodes and workers (cluster-config.ts). */
  cluster: ClusterConfig;
}

export interface LoadConfigOptions {
  /** Defaults to process.env. */
  env?: Record<string, string | undefined>;
  /** A .env file to read under the environment (the environment wins). Defaults to ./.env; false to skip. */
  envFile?: string | false;
}

/**
 * Reads the environment (and .env) once through the zod schema. A bad value throws
 * CONFIG_INVALID whose message is one line naming the variable and what it expects.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const envFile = options.envFile === undefined ? path.resolve('.env') : options.envFile;
  const fromFile = envFile && existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  const merged: Record<string, string | undefined> = { ...fromFile };
  for (const [key, value] of Object.entries(env)) if (value !== undefined) merged[key] = value;

  const result = envSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'configuration');
    const shown = merged[name] === undefined ? '' : ` (got "${merged[name]}")`;
    throw new AppError('CONFIG_INVALID', `${name}: ${issue?.message ?? 'is invalid'}${shown}`);
  }
  const e = result.data;

  if ((e.INGEST_TLS_CERT === undefined) !== (e.INGEST_TLS_KEY === undefined)) {
    throw new AppError(
      'CONFIG_INVALID',
      'INGEST_TLS_CERT and INGEST_TLS_KEY: expects both PEM paths, or neither',
    );
  }
  const storage = storageConfig(e);
  const cluster = clusterConfig(e);
  const obsConfigured = e.OBS_HOST !== undefined || e.OBS_PASSWORD !== undefined;

  return {
    logLevel: e.LOG_LEVEL,
    logFile: e.STREAMAI_LOG_FILE,
    station: {
      host: e.HOST,
      port: e.PORT,
      apiToken: e.STREAMAI_API_TOKEN,
      dataDir: e.STREAMAI_DATA_DIR,
      recordingsPath: e.RECORDINGS_PATH,
    },
    recorder: {
      kind: e.RECORDER === 'auto' ? (obsConfigured ? 'obs' : 'ffmpeg') : e.RECORDER,
      ffmpegSource: e.FFMPEG_SOURCE,
      obs: { host: e.OBS_HOST ?? '127.0.0.1', port: e.OBS_PORT, password: e.OBS_PASSWORD },
      segmentSeconds: e.RECORDING_SEGMENT_SECONDS,
    },
    upload: {
      apiUrl: e.VULTR_API_URL,
      endpoint: e.VULTR_UPLOAD_ENDPOINT,
      autoUpload: e.VULTR_AUTO_UPLOAD,
      apiKey: e.VULTR_API_KEY,
      protocol: e.VULTR_UPLOAD_PROTOCOL,
      retries: e.VULTR_UPLOAD_RETRIES,
      requestTimeoutMs: Math.round(e.VULTR_UPLOAD_TIMEOUT * 1000),
      connectTimeoutMs: Math.round(e.VULTR_UPLOAD_CONNECT_TIMEOUT * 1000),
      stallTimeoutMs: Math.round(e.VULTR_UPLOAD_STALL_TIMEOUT * 1000),
      concurrency: e.VULTR_UPLOAD_CONCURRENCY,
      maxRateBytesPerSecond: e.VULTR_UPLOAD_MAX_RATE === 0 ? undefined : e.VULTR_UPLOAD_MAX_RATE,
      chunkSizeBytes: e.VULTR_UPLOAD_CHUNK_SIZE,
      compress: e.VULTR_COMPRESS,
      caCertPath: e.VULTR_CA_CERT,
    },
    ingest: {
      host: e.INGEST_HOST,
      port: e.INGEST_PORT,
      dataDir: e.INGEST_DATA_DIR,
      apiKeys: e.INGEST_API_KEYS,
      maxUploadBytes: e.INGEST_MAX_UPLOAD_BYTES,
      diskReserveBytes: e.INGEST_DISK_RESERVE_BYTES,
      tlsCertPath: e.INGEST_TLS_CERT,
      tlsKeyPath: e.INGEST_TLS_KEY,
      tusExpirationMs: Math.round(e.INGEST_TUS_EXPIRATION_HOURS * 3600 * 1000),
      workers: e.INGEST_WORKERS,
      stepTimeoutMs: Math.round(e.INGEST_STEP_TIMEOUT * 1000),
      silenceThresholdDb: e.INGEST_SILENCE_THRESHOLD_DB,
      silenceMinSeconds: e.INGEST_SILENCE_MIN_SECONDS,
      chapters: e.INGEST_CHAPTERS,
      corsOrigins: e.INGEST_CORS_ORIGINS,
      transcribe: e.INGEST_TRANSCRIBE,
      whisperBin: e.INGEST_WHISPER_BIN,
      whisperModel: e.INGEST_WHISPER_MODEL,
    },
    notify: {
      stationWebhookUrls: e.STREAMAI_WEBHOOK_URL,
      stationWebhookSecret: e.STREAMAI_WEBHOOK_SECRET,
      ingestWebhookUrls: e.INGEST_WEBHOOK_URL,
      ingestWebhookSecret: e.INGEST_WEBHOOK_SECRET,
      discordUrl: e.DISCORD_WEBHOOK_URL,
      ntfyUrl: e.NTFY_URL,
    },
    retention: {
      policy: e.RECORDINGS_RETENTION,
      minFreeBytes: e.RECORDING_MIN_FREE_BYTES,
    },
    storage,
    cluster,
  };
}

import { z } from 'zod';
import { parseByteSize } from './byte-size.js';

/**
 * Every setting StreamAI reads, by its environment name. The original documents' names
 * (VULTR_*, OBS_*, RECORDINGS_PATH, LOG_LEVEL) are kept; new ones follow the same prefixes.
 * Each entry says what it expects, so a bad value can be reported in one line.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { message: 'expects true or false' })
    .default(fallback ? 'true' : 'false')
    .transform((v) => ['true', '1', 'yes', 'on'].includes(v));

const int = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expects a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

const num = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((v, ctx) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `expects a number from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

function toBytes(v: string, ctx: z.RefinementCtx): number {
  const n = parseByteSize(v);
  if (n === undefined || n < 0) {
    ctx.addIssue({ code: 'custom', message: 'expects a byte size such as 1048576, 500MB or 2GiB' });
    return z.NEVER;
  }
  return n;
}
const bytes = (fallback: string) => z.string().default(fallback).transform(toBytes);
const optionalBytes = z
  .string()
  .optional()
  .transform((v, ctx) => (v === undefined || v.trim() === '' ? undefined : toBytes(v, ctx)));

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const url = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    try {
      const parsed = new URL(v.trim());
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
      return parsed.toString().replace(/\/+$/, '');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expects an http:// or https:// URL' });
      return z.NEVER;
    }
  });

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
  );

const urlList = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const items = (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const out: string[] = [];
    for (const item of items) {
      try {
        const parsed = new URL(item);
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
        out.push(parsed.toString());
      } catch {
        ctx.addIssue({
          code: 'custom',
          message: `expects comma-separated http:// or https:// URLs ("${item}" is not one)`,
        });
        return z.NEVER;
      }
    }
    return out;
  });

/** RECORDINGS_RETENTION, parsed: keep everything, or delete confirmed uploads by age or total size. */
export type RetentionPolicy =
  { kind: 'keep' } | { kind: 'delete-after-days'; days: number } | { kind: 'max-gb'; gigabytes: number };

const retention = z
  .string()
  .default('keep')
  .transform((v, ctx): RetentionPolicy => {
    const text = v.trim().toLowerCase();
    if (text === 'keep' || text === '') return { kind: 'keep' };
    const match = /^(delete-after-days|max-gb):(\d+(?:\.\d+)?)$/.exec(text);
    const n = match ? Number(match[2]) : NaN;
    if (!match || !(n > 0)) {
      ctx.addIssue({ code: 'custom', message: 'expects keep, delete-after-days:N or max-gb:N (N > 0)' });
      return z.NEVER;
    }
    return match[1] === 'max-gb' ? { kind: 'max-gb', gigabytes: n } : { kind: 'delete-after-days', days: n };
  });
/** S3 bucket naming rules (the DNS-compatible ones every store accepts). */
function isBucketName(v: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v) && !v.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(v);
}

export const envSchema = z.object({
  // Logging
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'expects one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  STREAMAI_LOG_FILE: z.string().default('logs/streamai.log'),

  // Station
  HOST: z.string().default('127.0.0.1'),
  PORT: int(5000, 0, 65535),
  STREAMAI_API_TOKEN: optionalText,
  STREAMAI_DATA_DIR: z.string().default('./data'),
  RECORDINGS_PATH: z.string().default('./recordings'),

  // Recorders
  RECORDER: z.enum(['obs', 'ffmpeg', 'auto'], { message: 'expects obs, ffmpeg or auto' }).default('auto'),
  // The forms parseFfmpegSource (src/recorder) reads; checked here so a bad value is a
  // configuration error naming the variable at start-up, not a request error later.
  FFMPEG_SOURCE: z
    .string()
    .trim()
    .regex(/^(testsrc|screen|(screen|v4l2|url):\s*\S.*)$/s, {
      message: 'expects testsrc, screen, screen:<display>, v4l2:<device> or url:<input>',
    })
    .default('testsrc'),
  OBS_HOST: optionalText,
  OBS_PORT: int(4455, 1, 65535),
  OBS_PASSWORD: optionalText,
  // Segmented recordings (issue 11): close a file every N seconds so each part can be uploaded
  // while recording goes on; 0 = one file for the whole recording.
  RECORDING_SEGMENT_SECONDS: int(60, 0, 24 * 3600),

  // Upload client (the station talking to the processing server)
  VULTR_API_URL: url,
  VULTR_UPLOAD_ENDPOINT: z
    .string()
    .default('/upload')
    .refine((v) => v.startsWith('/'), { message: 'expects a path starting with /' }),
  VULTR_AUTO_UPLOAD: bool(true),
  VULTR_API_KEY: optionalText,
  VULTR_UPLOAD_PROTOCOL: z
    .enum(['auto', 'tus', 'multipart'], { message: 'expects auto, tus or multipart' })
    .default('auto'),
  VULTR_UPLOAD_RETRIES: int(8, 0, 100),
  VULTR_UPLOAD_TIMEOUT: num(300, 1, 86400),
  VULTR_UPLOAD_CONNECT_TIMEOUT: num(10, 0.1, 600),
  VULTR_UPLOAD_STALL_TIMEOUT: num(60, 0.1, 3600),
  VULTR_UPLOAD_CONCURRENCY: int(2, 1, 16),
  VULTR_UPLOAD_MAX_RATE: optionalBytes,
  VULTR_UPLOAD_CHUNK_SIZE: bytes('64MiB'),
  VULTR_COMPRESS: z.enum(['none', 'h264', 'h265'], { message: 'expects none, h264 or h265' }).default('none'),
  VULTR_CA_CERT: optionalText,

  // Ingest server (the processing server's receiving side)
  INGEST_HOST: z.string().default('127.0.0.1'),
  INGEST_PORT: int(8080, 0, 65535),
  INGEST_DATA_DIR: z.string().default('./ingest-data'),
  INGEST_API_KEYS: list,
  INGEST_MAX_UPLOAD_BYTES: bytes('50GiB'),
  INGEST_DISK_RESERVE_BYTES: bytes('1GiB'),
  INGEST_TLS_CERT: optionalText,
  INGEST_TLS_KEY: optionalText,
  INGEST_TUS_EXPIRATION_HOURS: num(24, 0.01, 24 * 365),
  INGEST_WORKERS: int(1, 1, 16),
  INGEST_STEP_TIMEOUT: num(3600, 1, 86400),
  INGEST_SILENCE_THRESHOLD_DB: num(-30, -120, 0),
  INGEST_SILENCE_MIN_SECONDS: num(1, 0.05, 3600),
  INGEST_CHAPTERS: bool(false),

  // Notifications (src/notify): signed webhooks from the station and from the ingest server,
  // and short human messages to Discord / ntfy for upload and processing events.
  STREAMAI_WEBHOOK_URL: urlList,
  STREAMAI_WEBHOOK_SECRET: optionalText,
  INGEST_WEBHOOK_URL: urlList,
  INGEST_WEBHOOK_SECRET: optionalText,
  DISCORD_WEBHOOK_URL: url,
  NTFY_URL: url,

  // Retention and disk safety (src/retention)
  RECORDINGS_RETENTION: retention,
  RECORDING_MIN_FREE_BYTES: bytes('2GiB'),
  // Ingest server: browser origins allowed to call it (CORS); empty = none, no CORS headers at all
  INGEST_CORS_ORIGINS: list,
  // Object storage (issue 12): an S3-compatible bucket (Vultr Object Storage, AWS, Swift s3api)
  // for the station's uploads (UPLOAD_TARGET=s3) and the ingest server's files (INGEST_STORAGE=s3).
  // Which of them are required is checked in object-storage-config.ts, once the targets are known.
  UPLOAD_TARGET: z.enum(['server', 's3'], { message: 'expects server or s3' }).default('server'),
  INGEST_STORAGE: z.enum(['fs', 's3'], { message: 'expects fs or s3' }).default('fs'),
  S3_ENDPOINT: url,
  S3_REGION: z
    .string()
    .default('us-east-1')
    .refine((v) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(v), {
      message: 'expects a region name such as us-east-1 or ewr1',
    }),
  S3_BUCKET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === '' || isBucketName(v), {
      message: 'expects a bucket name: 3 to 63 lowercase letters, digits, dots or hyphens',
    }),
  S3_PREFIX: z
    .string()
    .default('recordings/')
    .refine((v) => !v.startsWith('/') && !v.split('/').some((s) => s === '..' || s === '.'), {
      message: 'expects a key prefix such as recordings/ (no leading /, no . or .. segments)',
    }),
  S3_ACCESS_KEY_ID: optionalText,
  // Never echoed in an error line: only its presence is checked.
  S3_SECRET_ACCESS_KEY: optionalText,
  S3_FORCE_PATH_STYLE: bool(false),

  // Scale-out (issue 13): shared ingest state and the processing job queue. Unset: SQLite in
  // INGEST_DATA_DIR and the in-process queue, as `npm start` runs. Checked in cluster-config.ts.
  DATABASE_URL: optionalText,
  QUEUE_URL: optionalText,
  QUEUE_JOB_ATTEMPTS: int(3, 1, 100),
  QUEUE_JOB_BACKOFF_SECONDS: num(10, 0, 86_400),
  QUEUE_LOCK_SECONDS: num(60, 5, 3600),
  QUEUE_STALLED_CHECK_SECONDS: num(30, 1, 3600),
  QUEUE_MAX_STALLED: int(2, 0, 100),
  // Transcription (issue 14): off, CMU PocketSphinx from Debian, or a whisper.cpp binary with a
  // ggml model file the user provides (models cannot be downloaded at run time).
  INGEST_TRANSCRIBE: z
    .enum(['off', 'pocketsphinx', 'whisper'], { message: 'expects off, pocketsphinx or whisper' })
    .default('off'),
  INGEST_WHISPER_BIN: optionalText,
  INGEST_WHISPER_MODEL: optionalText,

  // Media tools (issue 14): the system ffmpeg/ffprobe (>= 5.1) used when found here or on PATH,
  // else the packaged ones. Read by src/media when it loads (it is needed before any config).
  FFMPEG_PATH: optionalText,
  FFPROBE_PATH: optionalText,
});

export type RawEnv = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;

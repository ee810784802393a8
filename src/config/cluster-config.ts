import { AppError } from '../errors/index.js';
import type { ParsedEnv } from './schema.js';

/** The processing job queue (BullMQ) and how its jobs are retried and watched. */
export interface QueueConfig {
  /** BullMQ's backend, from QUEUE_URL's scheme. */
  backend: 'postgres' | 'redis';
  url: string;
  /** Attempts per job before it fails for good (QUEUE_JOB_ATTEMPTS). */
  attempts: number;
  /** Exponential backoff base between attempts (QUEUE_JOB_BACKOFF_SECONDS). */
  backoffMs: number;
  /** A worker's lock on a job; renewed while it runs, taken over once it lapses (QUEUE_LOCK_SECONDS). */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock lapsed (QUEUE_STALLED_CHECK_SECONDS). */
  stalledIntervalMs: number;
  /** Times a job may stall before it fails (QUEUE_MAX_STALLED). */
  maxStalledCount: number;
}

/** Shared state and dispatch for several ingest nodes and workers (DATABASE_URL, QUEUE_URL). */
export interface ClusterConfig {
  /** postgres://… for the ingest server's tasks, jobs and webhook queue; undefined: SQLite in INGEST_DATA_DIR. */
  databaseUrl: string | undefined;
  /** undefined: the in-process queue. */
  queue: QueueConfig | undefined;
}

function schemeOf(name: string, value: string, allowed: string[]): string {
  let protocol: string;
  try {
    protocol = new URL(value).protocol.replace(/:$/, '');
  } catch {
    throw new AppError('CONFIG_INVALID', `${name}: expects a URL such as ${allowed[0]}://host:port/…`);
  }
  if (!allowed.includes(protocol)) {
    throw new AppError(
      'CONFIG_INVALID',
      `${name}: expects a ${allowed.join(':// or ')}:// URL (got "${protocol}:")`,
    );
  }
  return protocol;
}

/** The scale-out part of the configuration; a URL of the wrong kind is CONFIG_INVALID naming it. */
export function clusterConfig(e: ParsedEnv): ClusterConfig {
  if (e.DATABASE_URL !== undefined) {
    // Checked here, so that a typo stops the start with one line; reaching the database is
    // checked when the ingest state opens (src/store/ingest-state).
    schemeOf('DATABASE_URL', e.DATABASE_URL, ['postgres', 'postgresql']);
  }
  let queue: QueueConfig | undefined;
  if (e.QUEUE_URL !== undefined) {
    const scheme = schemeOf('QUEUE_URL', e.QUEUE_URL, ['postgres', 'postgresql', 'redis', 'rediss']);
    queue = {
      backend: scheme.startsWith('redis') ? 'redis' : 'postgres',
      url: e.QUEUE_URL,
      attempts: e.QUEUE_JOB_ATTEMPTS,
      backoffMs: Math.round(e.QUEUE_JOB_BACKOFF_SECONDS * 1000),
      lockDurationMs: Math.round(e.QUEUE_LOCK_SECONDS * 1000),
      stalledIntervalMs: Math.round(e.QUEUE_STALLED_CHECK_SECONDS * 1000),
      maxStalledCount: e.QUEUE_MAX_STALLED,
    };
  }
  return { databaseUrl: e.DATABASE_URL, queue };
}

import { createHash } from 'node:crypto';
import pg from 'pg';
import { AppError } from '../../errors/index.js';
import { migratePg, pgIngestMigrations } from '../pg-migrations/index.js';
import { PgProcessingJobStore } from './pg-job-store.js';
import { PgIngestTaskStore } from './pg-task-store.js';
import { PgWebhookStore } from './pg-webhook-store.js';
import type { IngestCountedTable, IngestState } from './types.js';

const COUNT_QUERIES: Record<IngestCountedTable, string> = {
  ingest_tasks: 'SELECT state, count(*) AS n FROM ingest_tasks GROUP BY state',
  processing_jobs: 'SELECT state, count(*) AS n FROM processing_jobs GROUP BY state',
};

/** The URL as a log line may show it: the password replaced. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(not a URL)';
  }
}

/** A start-up failure to reach the database, as one line naming DATABASE_URL (never its password). */
function unreachable(url: string, error: unknown): AppError {
  const e = error as NodeJS.ErrnoException & { code?: string };
  const why = e.code && !e.message.includes(e.code) ? `${e.code}: ${e.message}` : e.message;
  return new AppError(
    'SERVER_UNREACHABLE',
    `DATABASE_URL: cannot use PostgreSQL at ${redactedUrl(url)} (${why})`,
    {
      cause: error,
    },
  );
}

/** A task's advisory-lock keys: two int4 from the sha256 of `ingest-task:<id>` (the tus Locker hashes bare upload ids). */
function taskLockKeys(taskId: string): [number, number] {
  const digest = createHash('sha256').update(`ingest-task:${taskId}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

/**
 * Holds a session-level advisory lock on one pooled connection while `work` runs. If that
 * connection breaks, PostgreSQL drops the lock with it; the connection is then discarded, not
 * returned to the pool still holding anything.
 */
async function withTaskLock<T>(pool: pg.Pool, taskId: string, work: () => Promise<T>): Promise<T> {
  const keys = taskLockKeys(taskId);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', keys);
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', keys).catch((error: Error) => (broken = error));
    }
  } finally {
    client.release(broken);
  }
}

export interface PgIngestStateOptions {
  /** Connections this process keeps at most [10]. */
  maxConnections?: number;
  /** How long to wait for a connection at start-up and later [10 s]. */
  connectTimeoutMs?: number;
}

/**
 * Opens the ingest state on PostgreSQL (DATABASE_URL): a connection pool, the schema brought up
 * to date (pgIngestMigrations, safe when several nodes start at once), and the three stores.
 * Fails with one clear line when the database cannot be reached or migrated.
 */
export async function openPgIngestState(
  url: string,
  options: PgIngestStateOptions = {},
): Promise<IngestState & { pool: pg.Pool }> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // An idle connection dropped by the server (restart, failover) must not crash the process; the
  // pool replaces it, and the next query reports the problem where it is handled.
  pool.on('error', () => undefined);
  // Task locks hold a connection while their work queries through `pool`: on a pool of their own,
  // many completions at once can never take every connection their queries need.
  const lockPool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  lockPool.on('error', () => undefined);
  try {
    await migratePg(pool, pgIngestMigrations);
  } catch (error) {
    await pool.end().catch(() => undefined);
    await lockPool.end().catch(() => undefined);
    throw unreachable(url, error);
  }
  let closed = false;
  return {
    backend: 'postgres',
    pool,
    tasks: new PgIngestTaskStore(pool),
    jobs: new PgProcessingJobStore(pool),
    webhooks: new PgWebhookStore(pool),
    lockTask: (taskId, work) => withTaskLock(lockPool, taskId, work),
    countByState: async (table) => {
      const { rows } = await pool.query<{ state: string; n: string }>(COUNT_QUERIES[table]);
      return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.all([pool.end(), lockPool.end()]);
    },
  };
}

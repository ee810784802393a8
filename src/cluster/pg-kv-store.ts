import pg from 'pg';
import type { KvStore } from '@tus/utils';

/** The table every ingest node shares for tus upload metadata (a cache: losing it loses nothing). */
const TABLE = 'streamai_tus_cache';

export interface PgKvStoreOptions {
  /** postgres://… shared by every ingest node (DATABASE_URL). */
  connectionString: string;
  /** Keys are stored as `<namespace><key>`, so several caches can share the table. */
  namespace?: string;
  /** Pool size; the cache is read once per tus request at most [4]. */
  maxConnections?: number;
}

/**
 * A tus `KvStore` on one small PostgreSQL table, so that every ingest node reads the same upload
 * metadata: @tus/s3-store keeps an upload's S3 multipart id and size in its cache, and a node's
 * in-memory cache would go stale when another node declares a length, completes or removes the
 * upload. The table is created on first use (`CREATE TABLE IF NOT EXISTS`): it holds only what
 * the bucket's `.info` objects also hold, so there is nothing to migrate — a new layout can drop
 * it. Values are JSON; `set` is an upsert, so the last writer wins (tus holds the upload's lock
 * around every write, PgAdvisoryLocker across nodes).
 */
export class PgKvStore<T> implements KvStore<T> {
  private readonly pool: pg.Pool;
  private readonly namespace: string;
  private ready: Promise<void> | undefined;

  constructor(options: PgKvStoreOptions) {
    this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 4 });
    this.namespace = options.namespace ?? '';
    // An idle connection dropped by the server must not crash the node; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  /** Creates the table if it is missing. Idempotent; every method awaits it. */
  start(): Promise<void> {
    this.ready ??= this.pool
      .query(
        `CREATE TABLE IF NOT EXISTS ${TABLE} (
           key text PRIMARY KEY,
           value jsonb NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      )
      .then(
        () => undefined,
        (error: unknown) => {
          // Two nodes creating it at the same moment: one wins, the other sees a duplicate — of
          // the table (42P07), of its row type in pg_type (23505 while the winner commits, 42710
          // once it has: a CI run saw this one, at 43adf5b).
          const code = (error as { code?: string }).code;
          if (code === '23505' || code === '42P07' || code === '42710') return;
          this.ready = undefined;
          throw error;
        },
      );
    return this.ready;
  }

  async get(key: string): Promise<T | undefined> {
    await this.start();
    const result = await this.pool.query<{ value: T }>(`SELECT value FROM ${TABLE} WHERE key = $1`, [
      this.namespace + key,
    ]);
    return result.rows[0]?.value;
  }

  async set(key: string, value: T): Promise<void> {
    await this.start();
    await this.pool.query(
      `INSERT INTO ${TABLE} (key, value, updated_at) VALUES ($1, $2::jsonb, now())
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
      [this.namespace + key, JSON.stringify(value)],
    );
  }

  async delete(key: string): Promise<void> {
    await this.start();
    await this.pool.query(`DELETE FROM ${TABLE} WHERE key = $1`, [this.namespace + key]);
  }

  /** The keys of this namespace (without it). */
  async list(): Promise<string[]> {
    await this.start();
    const result = await this.pool.query<{ key: string }>(
      `SELECT key FROM ${TABLE} WHERE starts_with(key, $1) ORDER BY key`,
      [this.namespace],
    );
    return result.rows.map((r) => r.key.slice(this.namespace.length));
  }

  /**
   * Drops entries not written for `olderThanMs` (uploads abandoned before they completed; a
   * completed or removed upload deletes its own entry). Safe at any time: a missing entry is
   * read again from the bucket. Returns how many were dropped.
   */
  async prune(olderThanMs: number): Promise<number> {
    await this.start();
    const result = await this.pool.query(
      `DELETE FROM ${TABLE} WHERE starts_with(key, $1) AND updated_at < now() - ($2::double precision * interval '1 millisecond')`,
      [this.namespace, olderThanMs],
    );
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

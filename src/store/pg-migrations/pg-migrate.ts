import type pg from 'pg';
import { inTransaction } from '../pg-transaction.js';

/** One PostgreSQL schema step. Versions start at 1 and only grow; a shipped migration is never edited. */
export interface PgMigration {
  version: number;
  description: string;
  sql: string;
}

/**
 * The key of the advisory lock the migrations run under (one bigint; the tus Locker's locks use
 * the two-int4 form, a separate key space). Any fixed number works; this one spells "STRMAI01".
 */
export const MIGRATION_LOCK_KEY = 0x5354524d41493031n;

/**
 * Brings a PostgreSQL database up to `migrations`: all pending steps in ONE transaction holding
 * a transaction-level advisory lock, so two nodes starting at once apply them once (the second
 * waits, then finds nothing to do), and a failing step leaves the schema as it was. Applied
 * versions are rows of `schema_migrations`. A database newer than this program is refused.
 * Returns the versions applied now.
 */
export async function migratePg(pool: pg.Pool, migrations: readonly PgMigration[]): Promise<number[]> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations must be numbered 1..n without gaps (found ${m.version})`);
  });
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version     INTEGER PRIMARY KEY,
        description TEXT NOT NULL,
        applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const current = rows[0]?.v ?? 0;
    if (current > sorted.length) {
      throw new Error(`database schema version ${current} is newer than this program (${sorted.length})`);
    }
    const pending = sorted.slice(current);
    for (const m of pending) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    return pending.map((m) => m.version);
  });
}

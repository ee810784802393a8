import type { Db } from './open-database.js';

/** Tables whose rows have a `state` column worth counting (for the metrics). */
export type CountedTable = 'upload_tasks' | 'ingest_tasks' | 'processing_jobs';

const QUERIES: Record<CountedTable, string> = {
  upload_tasks: 'SELECT state, count(*) AS n FROM upload_tasks GROUP BY state',
  ingest_tasks: 'SELECT state, count(*) AS n FROM ingest_tasks GROUP BY state',
  processing_jobs: 'SELECT state, count(*) AS n FROM processing_jobs GROUP BY state',
};

/** Rows per state of one table, e.g. `{queued: 2, completed: 40}` (states with no rows are absent). */
export function countByState(db: Db, table: CountedTable): Record<string, number> {
  const rows = db.prepare(QUERIES[table]).all() as Array<{ state: string; n: number }>;
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

import path from 'node:path';
import { IngestTaskRepository } from '../ingest-task-repository.js';
import { ingestMigrations } from '../migrations/ingest-migrations.js';
import { openDatabase, type Db } from '../open-database.js';
import { ProcessingJobRepository } from '../processing-job-repository.js';
import { countByState } from '../state-counts.js';
import { WebhookRepository } from '../webhook-repository.js';
import type { AsyncMethods, IngestState, ProcessingJobStore, WebhookStore } from './types.js';

/**
 * The async face of a synchronous repository: each method runs at once (better-sqlite3 is
 * synchronous), its result or error handed back as a Promise. Running at call time rather than
 * on a later tick keeps the order of writes exactly the order of calls, as before.
 */
export function promised<T extends object>(repo: T): AsyncMethods<T> {
  const face: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  const proto = Object.getPrototypeOf(repo) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const method = proto[name];
    if (name === 'constructor' || typeof method !== 'function') continue;
    face[name] = async (...args: unknown[]) => (method as (...a: unknown[]) => unknown).apply(repo, args);
  }
  return face as unknown as AsyncMethods<T>;
}

/** The processing jobs of an open SQLite ingest database, behind the async interface. */
export function sqliteJobStore(db: Db): ProcessingJobStore {
  return promised(new ProcessingJobRepository(db));
}

/** A SQLite database's webhook queue (the station's or the ingest server's), behind the async interface. */
export function sqliteWebhookStore(db: Db): WebhookStore {
  return promised(new WebhookRepository(db));
}

/** The ingest state on an already open SQLite database (tests, and `openIngestState` below). */
export function sqliteIngestState(db: Db, ownsDb = false): IngestState & { db: Db } {
  return {
    backend: 'sqlite',
    db,
    tasks: promised(new IngestTaskRepository(db)),
    jobs: sqliteJobStore(db),
    webhooks: sqliteWebhookStore(db),
    // One process owns the file; the ingest service's own per-task lock covers it.
    lockTask: (_taskId, work) => work(),
    countByState: async (table) => countByState(db, table),
    close: async () => {
      if (ownsDb) db.close();
    },
  };
}

/** Opens (migrating) `<dataDir>/ingest.db`: the embedded default when DATABASE_URL is unset. */
export function openSqliteIngestState(dataDir: string): IngestState & { db: Db } {
  return sqliteIngestState(openDatabase(path.join(dataDir, 'ingest.db'), ingestMigrations), true);
}

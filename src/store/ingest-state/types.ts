import type { IngestTaskRepository } from '../ingest-task-repository.js';
import type { ProcessingJobRepository } from '../processing-job-repository.js';
import type { WebhookRepository } from '../webhook-repository.js';

/**
 * The methods of a synchronous repository, each returning a Promise of what it returned. The
 * async stores are defined this way so that both backends keep exactly the meaning (and the
 * documentation) of the SQLite repositories they started from.
 */
export type AsyncMethods<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** The ingest server's tasks (`ingest_tasks`), as IngestTaskRepository documents them. */
export type IngestTaskStore = AsyncMethods<IngestTaskRepository>;

/** The processing jobs (`processing_jobs`) with their leases, as ProcessingJobRepository documents them. */
export type ProcessingJobStore = AsyncMethods<ProcessingJobRepository>;

/** The durable webhook queue (events, deliveries, attempts, cursors), as WebhookRepository documents it. */
export type WebhookStore = AsyncMethods<WebhookRepository>;

/** Which database holds the state: the embedded file, or a shared PostgreSQL (DATABASE_URL). */
export type IngestStateBackend = 'sqlite' | 'postgres';

/** Tables whose rows are counted per state for the metrics. */
export type IngestCountedTable = 'ingest_tasks' | 'processing_jobs';

/**
 * Everything the ingest server, processing and `streamai worker` keep in a database. One
 * interface, two backends (SQLite in INGEST_DATA_DIR, PostgreSQL at DATABASE_URL); async because
 * the shared one answers over the network.
 */
export interface IngestState {
  readonly backend: IngestStateBackend;
  readonly tasks: IngestTaskStore;
  readonly jobs: ProcessingJobStore;
  readonly webhooks: WebhookStore;
  /**
   * Runs `work` while holding the task's lock across every process sharing this state (PostgreSQL:
   * an advisory lock; SQLite: one process owns the file, so `work` just runs). Completing an
   * upload holds it from "is the task received?" to "recorded", so two nodes never both store it.
   */
  lockTask<T>(taskId: string, work: () => Promise<T>): Promise<T>;
  /** Rows per state of one table (states with no rows are absent). */
  countByState(table: IngestCountedTable): Promise<Record<string, number>>;
  /** Closes the database (the pool, for PostgreSQL). */
  close(): Promise<void>;
}

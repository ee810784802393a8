import type { Logger } from '../logging/index.js';
import type { Db } from '../store/index.js';

/** What /status shows of a task's processing. */
export interface ProcessingStatus {
  state: 'queued' | 'processing' | 'done' | 'failed';
  progress: number;
  steps: unknown[];
  report: unknown | null;
  outputs: Array<{ name: string; size: number }>;
  error?: { code: string; message: string };
}

/** What the ingest server needs of a processing pipeline. */
export interface UploadProcessor {
  /** Queue (or re-queue) processing of a stored, verified upload. Must not throw for a valid task. */
  enqueue(job: { taskId: string; filePath: string; outputDir: string }): void;
  /** Processing view for /status, or undefined when this task was never queued. */
  status(taskId: string): ProcessingStatus | undefined;
  start(): void;
  close(): Promise<void>;
}

/** Builds the processor once the ingest database is open. */
export type CreateProcessor = (ctx: { db: Db; dataDir: string; logger: Logger }) => UploadProcessor;

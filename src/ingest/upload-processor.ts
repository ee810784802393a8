import type { Logger } from '../logging/index.js';
import type { IngestState } from '../store/index.js';

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
  enqueue(job: { taskId: string; filePath: string; outputDir: string }): Promise<void>;
  /** Processing view for /status, or undefined when this task was never queued. */
  status(taskId: string): Promise<ProcessingStatus | undefined>;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the processor once the ingest state is open (its jobs are `state.jobs`). */
export type CreateProcessor = (ctx: {
  state: IngestState;
  dataDir: string;
  logger: Logger;
  /** INGEST_STORAGE=s3: fetch the input before a run, store the outputs after (storageRunHooks). */
  runHooks?: ProcessingRunHooks | undefined;
}) => UploadProcessor;

/** See src/processing's ProcessingRunHooks (the same shape; ingest does not import processing). */
export interface ProcessingRunHooks {
  beforeRun(job: { taskId: string; filePath: string; outputDir: string }): Promise<void>;
  afterRun(
    job: { taskId: string; filePath: string; outputDir: string },
    outcome: 'done' | 'failed',
  ): Promise<void>;
}

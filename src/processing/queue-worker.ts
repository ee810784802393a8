import path from 'node:path';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import { createIngestStorage, storageRunHooks } from '../ingest/storage/index.js';
import type { Logger } from '../logging/index.js';
import { openIngestState } from '../store/index.js';
import { processingSettingsFromConfig } from './processor-from-config.js';
import { ProcessingService } from './processing-service.js';

/** A running `streamai worker`: takes processing jobs from QUEUE_URL until closed. */
export interface QueueWorker {
  close(): Promise<void>;
}

/**
 * Starts a processing worker on BullMQ (QUEUE_URL) over the ingest server's state (DATABASE_URL,
 * or the SQLite file in INGEST_DATA_DIR) and files (INGEST_DATA_DIR, shared with the ingest nodes). Each job it is handed is claimed under a lease
 * in that database and run through the pipeline, resuming after its last finished step; step
 * state and progress land where every ingest node's /status reads them. Closing stops taking
 * jobs; a run cut short goes back to the queue (BullMQ retries it) and resumes elsewhere.
 */
export async function startQueueWorker(options: {
  config: Config;
  concurrency: number;
  logger: Logger;
  dataDir?: string;
}): Promise<QueueWorker> {
  const queueConfig = options.config.cluster.queue;
  if (!queueConfig) {
    throw new AppError('CONFIG_INVALID', 'QUEUE_URL: is not set; a worker takes its jobs from that queue');
  }
  const dataDir = path.resolve(options.dataDir ?? options.config.ingest.dataDir);
  const state = await openIngestState({ databaseUrl: options.config.cluster.databaseUrl, dataDir });
  // INGEST_STORAGE=s3: inputs are fetched from the bucket and outputs put back (no shared disk).
  const { ingestStorage, s3 } = options.config.storage;
  const storage = await createIngestStorage(dataDir, { kind: ingestStorage, s3 });
  const service = new ProcessingService({
    jobs: state.jobs,
    dataDir,
    logger: options.logger.child({ part: 'processing' }),
    // No local loop: this process runs what the queue hands it, under a lease as long as BullMQ's lock.
    settings: {
      ...processingSettingsFromConfig(options.config),
      workers: 0,
      leaseMs: queueConfig.lockDurationMs,
    },
    runHooks: storageRunHooks(storage, state.tasks),
  });
  const { ProcessingQueue } = await import('../cluster/index.js');
  const queue = new ProcessingQueue(queueConfig);
  queue.work(async ({ taskId }) => {
    const outcome = await service.runClaimed(taskId);
    options.logger.info({ taskId, outcome }, 'queue job finished');
    // Stopped before an outcome (this worker closing): let the queue hand it out again.
    if (outcome === 'interrupted') throw new AppError('PROCESSING_CANCELLED', `${taskId} was interrupted`);
  }, options.concurrency);
  return {
    close: async () => {
      await service.close();
      await queue.close();
      await state.close();
      await storage.close();
    },
  };
}

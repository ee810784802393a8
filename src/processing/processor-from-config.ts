import type { Config, QueueConfig } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { IngestState } from '../store/index.js';
import {
  ProcessingService,
  type ProcessingDispatch,
  type ProcessingRunHooks,
  type ProcessingSettings,
} from './processing-service.js';

/** The INGEST_* settings as the processing service takes them. */
export function processingSettingsFromConfig(config: Config): ProcessingSettings {
  return {
    workers: config.ingest.workers,
    stepTimeoutMs: config.ingest.stepTimeoutMs,
    silenceThresholdDb: config.ingest.silenceThresholdDb,
    silenceMinSeconds: config.ingest.silenceMinSeconds,
    chapters: config.ingest.chapters,
    transcribe: {
      engine: config.ingest.transcribe,
      whisperBin: config.ingest.whisperBin,
      whisperModel: config.ingest.whisperModel,
    },
  };
}

/**
 * The BullMQ queue as a dispatch, loaded on first use: a server without QUEUE_URL never loads
 * BullMQ, and one with it starts even while the queue's server is still coming up.
 */
export function queueDispatch(queue: QueueConfig): ProcessingDispatch {
  let opened: Promise<import('../cluster/index.js').ProcessingQueue> | undefined;
  const open = (): Promise<import('../cluster/index.js').ProcessingQueue> =>
    (opened ??= import('../cluster/index.js').then((m) => new m.ProcessingQueue(queue)));
  return {
    add: async (taskId, generation) => (await open()).add(taskId, generation),
    close: async () => {
      if (opened) await (await opened).close();
    },
  };
}

/**
 * The factory the ingest server calls once its state is open (`createProcessor` in its
 * options): a ProcessingService over its jobs, configured from INGEST_*. With QUEUE_URL the
 * jobs are announced to BullMQ and run by `streamai worker`s, none here.
 */
export function processorFromConfig(
  config: Config,
): (ctx: {
  state: IngestState;
  dataDir: string;
  logger: Logger;
  runHooks?: ProcessingRunHooks | undefined;
}) => ProcessingService {
  const settings = processingSettingsFromConfig(config);
  const queue = config.cluster.queue;
  return (ctx) => {
    const dispatch = queue ? queueDispatch(queue) : undefined;
    return new ProcessingService({
      jobs: ctx.state.jobs,
      dataDir: ctx.dataDir,
      logger: ctx.logger.child({ part: 'processing' }),
      settings: dispatch ? { ...settings, workers: 0, leaseMs: queue?.lockDurationMs } : settings,
      dispatch,
      runHooks: ctx.runHooks,
    });
  };
}

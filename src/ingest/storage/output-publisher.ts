import type { Logger } from '../../logging/index.js';
import type { UploadProcessor } from '../upload-processor.js';
import type { IngestStorage } from './ingest-storage.js';

interface FinishEmitter {
  on(event: 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
  off(event: 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
}

function isEmitter(value: unknown): value is FinishEmitter {
  return typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function';
}

/**
 * With INGEST_STORAGE=s3, processing writes its outputs into `<data>/.scratch/<task>/outputs/`;
 * when a run ends (done or failed) they are put into the bucket and the scratch folder freed.
 * Until then `/outputs` serves them from the scratch folder, so a task shown done always has
 * its outputs reachable. At start-up, scratch folders of finished runs a previous process did
 * not publish are published. Nothing to do with fs storage.
 */
export function publishOutputs(
  storage: IngestStorage,
  processor: UploadProcessor | undefined,
  logger: Logger,
): { close: () => Promise<void> } {
  if (storage.kind === 'fs' || !isEmitter(processor)) return { close: async () => {} };
  const running = new Set<Promise<void>>();
  const publish = (taskId: string): void => {
    const work = storage
      .publishOutputs(taskId)
      .then(() => logger.info({ taskId }, 'processing outputs stored in the bucket'))
      .catch((error: unknown) =>
        // They stay in the scratch folder (and are served from there); the next start retries.
        logger.error({ err: error, taskId }, 'could not store processing outputs in the bucket'),
      )
      .finally(() => running.delete(work));
    running.add(work);
  };
  const onFinish = ({ taskId }: { taskId: string }): void => publish(taskId);
  processor.on('done', onFinish);
  processor.on('failed', onFinish);
  const resume = async (): Promise<void> => {
    for (const taskId of await storage.scratchTasks()) {
      const state = (await processor.status(taskId))?.state;
      if (state === 'done' || state === 'failed') publish(taskId);
    }
  };
  resume().catch((error: unknown) => logger.warn({ err: error }, 'could not look for unpublished outputs'));
  return {
    close: async () => {
      processor.off('done', onFinish);
      processor.off('failed', onFinish);
      await Promise.allSettled([...running]);
    },
  };
}

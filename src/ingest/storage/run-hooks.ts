import { AppError } from '../../errors/index.js';
import type { IngestTask } from '../../store/index.js';
import type { ProcessingRunHooks } from '../upload-processor.js';
import type { IngestStorage } from './ingest-storage.js';

/**
 * What processing does around each run when the files live in a bucket (undefined for fs,
 * where they are in place): before, the task's recording is downloaded to the job's `filePath`
 * unless a whole copy is already there (a resumed run); after (done or failed), the outputs are
 * put to `<prefix><task_id>/outputs/` and the scratch folder freed — before the outcome is
 * recorded, so `done` means the outputs are in the bucket. The same on an ingest node and on a
 * `streamai worker` machine (no shared disk needed).
 */
export function storageRunHooks(
  storage: IngestStorage,
  tasks: { get(taskId: string): Promise<IngestTask | undefined> },
): ProcessingRunHooks | undefined {
  if (storage.kind === 'fs') return undefined;
  return {
    beforeRun: async (job) => {
      const task = await tasks.get(job.taskId);
      if (!task?.filePath) throw new AppError('TASK_NOT_FOUND', `task ${job.taskId} has no stored recording`);
      await storage.ensureLocal(task.filePath, job.filePath, task.fileSize);
    },
    afterRun: (job) => storage.publishOutputs(job.taskId, job.outputDir),
  };
}

import { UploadTaskRepository, type Db } from '../store/index.js';
import { isFinished, isUploadState, toTask, type UploadState, type UploadTask } from '../uploads/index.js';

/** Counts of the upload queue, for `streamai status`. */
export interface UploadTaskCounts {
  /** Not finished: queued, running, or waiting to retry. */
  pending: number;
  /** Tasks that failed (a person must retry them). */
  failed: number;
}

/**
 * The upload queue, read-only, from the station database: what `streamai uploads`,
 * `upload-status` and `status` read. It builds no upload service, needs no server URL, and
 * never connects anywhere.
 */
export class UploadTaskCatalog {
  private readonly repo: UploadTaskRepository;

  constructor(db: Db) {
    this.repo = new UploadTaskRepository(db);
  }

  /** Most recent first. */
  list(limit = 10): UploadTask[] {
    return this.repo.list(Math.max(1, Math.min(limit, 1000))).map(toTask);
  }

  get(taskId: string): UploadTask | undefined {
    const record = this.repo.get(taskId);
    return record ? toTask(record) : undefined;
  }

  /** Every state the task went through, with when and why, oldest first. */
  history(taskId: string): Array<{ at: string; state: UploadState; message: string | null }> {
    return this.repo
      .events(taskId)
      .map((e) => ({ at: e.at, state: isUploadState(e.state) ? e.state : 'failed', message: e.message }));
  }

  counts(): UploadTaskCounts {
    const tasks = this.repo.list(Number.MAX_SAFE_INTEGER).map(toTask);
    return {
      pending: tasks.filter((t) => !isFinished(t.state)).length,
      failed: tasks.filter((t) => t.state === 'failed').length,
    };
  }
}

import type { Db } from '../store/index.js';
import { UploadPartRepository } from '../store/upload-part-repository.js';
import { UploadTaskRepository } from '../store/upload-task-repository.js';
import {
  isFinished,
  isUploadState,
  toTask,
  withParts,
  type UploadParts,
  type UploadState,
  type UploadTask,
} from '../uploads/index.js';

/** Counts of the upload queue, for `streamai status`. */
export interface UploadTaskCounts {
  /** Not finished: queued, running, or waiting to retry. */
  pending: number;
  /** Tasks that failed (a person must retry them). */
  failed: number;
  /** Unfinished segmented recordings' tasks: their parts on the server and the backlog waiting. */
  inParts: Array<{ taskId: string; fileName: string; parts: UploadParts }>;
}

/**
 * The upload queue, read-only, from the station database: what `streamai uploads`,
 * `upload-status` and `status` read. It builds no upload service, needs no server URL, and
 * never connects anywhere.
 */
export class UploadTaskCatalog {
  private readonly repo: UploadTaskRepository;
  /** A segmented recording's parts ("3 of 4 parts on the server"). */
  private readonly parts: UploadPartRepository;

  constructor(db: Db) {
    this.repo = new UploadTaskRepository(db);
    this.parts = new UploadPartRepository(db);
  }

  /** Most recent first. */
  list(limit = 10): UploadTask[] {
    return this.repo.list(Math.max(1, Math.min(limit, 1000))).map((r) => withParts(this.parts, toTask(r)));
  }

  get(taskId: string): UploadTask | undefined {
    const record = this.repo.get(taskId);
    return record ? withParts(this.parts, toTask(record)) : undefined;
  }

  /** Every state the task went through, with when and why, oldest first. */
  history(taskId: string): Array<{ at: string; state: UploadState; message: string | null }> {
    return this.repo
      .events(taskId)
      .map((e) => ({ at: e.at, state: isUploadState(e.state) ? e.state : 'failed', message: e.message }));
  }

  counts(): UploadTaskCounts {
    const tasks = this.repo.list(Number.MAX_SAFE_INTEGER).map(toTask);
    const inParts = tasks
      .filter((t) => !isFinished(t.state))
      .map((t) => withParts(this.parts, t))
      .flatMap((t) => (t.parts ? [{ taskId: t.id, fileName: t.fileName, parts: t.parts }] : []));
    return {
      pending: tasks.filter((t) => !isFinished(t.state)).length,
      failed: tasks.filter((t) => t.state === 'failed').length,
      inParts,
    };
  }
}

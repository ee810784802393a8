import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { UploadTaskChanges, UploadTaskRecord, UploadTaskRepository } from '../store/index.js';
import { toTask } from './task-view.js';
import { canMove } from './upload-state-machine.js';
import type { UploadState, UploadTask } from './upload-types.js';

/** Thrown inside a worker when the task was moved elsewhere (cancelled by another process, lease lost). */
export class TaskMovedAway extends Error {}

/**
 * The one place a task changes state: each move is checked against the state machine and
 * written as a guarded update (the state it was read in, and the worker's lease when one
 * holds it, are in the WHERE), with a line in the task's history. A move that lost a race
 * throws TaskMovedAway instead of overwriting what the other side wrote.
 */
export class TaskMoves {
  constructor(
    private readonly repo: UploadTaskRepository,
    private readonly logger: Logger,
    private readonly onMoved: (task: UploadTask) => void,
  ) {}

  record(taskId: string): UploadTaskRecord {
    const record = this.repo.get(taskId);
    if (!record) throw new AppError('TASK_NOT_FOUND', `no upload task ${taskId}`);
    return record;
  }

  move(
    taskId: string,
    to: UploadState,
    message: string | null,
    changes: Omit<UploadTaskChanges, 'state'> = {},
    leaseOwner?: string,
  ): UploadTask {
    const current = this.record(taskId);
    const from = toTask(current).state;
    if (!canMove(from, to)) throw new TaskMovedAway(`${taskId}: ${from} → ${to} is not allowed`);
    const record = this.repo.guardedUpdate(
      taskId,
      { state: current.state, ...(leaseOwner !== undefined ? { leaseOwner } : {}) },
      { ...changes, state: to },
      new Date().toISOString(),
      { state: to, message },
    );
    if (!record) throw new TaskMovedAway(`${taskId} left ${from} (or its lease) before the move to ${to}`);
    const task = toTask(record);
    this.logger.info({ taskId, state: to, message }, 'upload state');
    this.onMoved(task);
    return task;
  }

  /**
   * Changes fields (and adds a history line when `message` is given) without a state move,
   * guarded like a move: nothing is written once the task left `state` or the lease.
   */
  note(
    taskId: string,
    message: string | null,
    changes: Omit<UploadTaskChanges, 'state'> = {},
    leaseOwner?: string,
  ): UploadTaskRecord {
    const current = this.record(taskId);
    const record = this.repo.guardedUpdate(
      taskId,
      { state: current.state, ...(leaseOwner !== undefined ? { leaseOwner } : {}) },
      changes,
      new Date().toISOString(),
      message === null ? undefined : { state: current.state, message },
    );
    if (!record) throw new TaskMovedAway(`${taskId} left ${current.state} (or its lease) meanwhile`);
    return record;
  }
}

import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { UploadTaskRecord, UploadTaskRepository } from '../store/index.js';
import { isDeadLocalOwner, newLeaseOwner } from './lease-owner.js';
import { toTask } from './task-view.js';
import { UNFINISHED_STATES, isFinished } from './upload-state-machine.js';
import type { UploadTask } from './upload-types.js';

/** Why a running attempt was stopped from outside. */
export type StopReason = 'cancel' | 'close' | 'lost';

/** One attempt in progress: how to stop it, why it was stopped, and when it is over. */
export interface RunningAttempt {
  /** The lease owner the attempt's writes are guarded by. */
  readonly owner: string;
  readonly controller: AbortController;
  stop: StopReason | undefined;
  done: Promise<void>;
}

export interface SchedulerOptions {
  repo: UploadTaskRepository;
  concurrency: number;
  /** How long a claim lasts unless renewed; renewed every third of it. */
  leaseMs: number;
  logger: Logger;
  /** Runs one attempt of a claimed task (the attempt pipeline); never rejects for task errors. */
  runAttempt: (taskId: string, run: RunningAttempt) => Promise<void>;
  /** A task another process held finished there (so waiters here resolve). */
  onFinishedElsewhere: (task: UploadTask) => void;
}

/**
 * When and where attempts run: the in-memory queue, retry timers, the concurrency limit,
 * leases on tasks (so two processes never send one task at once), pick-up of unfinished
 * tasks at start, and watching tasks another process holds. What an attempt does is the
 * pipeline's business (`upload-attempt.ts`).
 *
 * A lease is (owner, expiry): the owner is a random id of this instance, and the expiry is
 * pushed forward every third of `leaseMs` while the attempt runs (as BullMQ's lock duration
 * and stalled-job check do). A process that dies, freezes, or runs in a container recreated
 * under another hostname stops renewing, and any process takes the task over once the lease
 * expired — or at once when the owner was a process of this host that is gone (lease-owner.ts).
 * An attempt whose renewal fails (lease taken, task moved by someone else) is stopped.
 */
export class UploadScheduler {
  readonly owner = newLeaseOwner();
  private readonly running = new Map<string, RunningAttempt>();
  private readonly queue: string[] = [];
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Running tasks asked for again meanwhile (a recording's part added): run once more after. */
  private readonly again = new Set<string>();
  /** Tasks another live process holds: watched until they finish or are let go. */
  private readonly foreign = new Set<string>();
  private foreignTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly options: SchedulerOptions) {}

  get isStarted(): boolean {
    return this.started && !this.closed;
  }

  /** Picks up every unfinished task (after a crash or restart). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(10, this.options.leaseMs / 3));
    this.renewTimer.unref();
    for (const record of this.options.repo.listInStates(UNFINISHED_STATES)) this.schedule(toTask(record));
  }

  /** Interrupts running attempts (they stay resumable) and waits for them to end. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    clearInterval(this.foreignTimer);
    this.queue.length = 0;
    // Renewal goes on until the interrupted attempts have written their last line.
    for (const run of this.running.values()) this.stop(run, 'close');
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    clearInterval(this.renewTimer);
  }

  /** Takes the lease of a process of this host that has exited (see lease-owner.ts). */
  private takeOverDead(record: UploadTaskRecord, expiresAt: number): boolean {
    const dead = record.leaseOwner;
    if (dead === null || !isDeadLocalOwner(dead)) return false;
    if (!this.options.repo.takeOver(record.id, dead, this.owner, expiresAt)) return false;
    this.options.logger.info(
      { taskId: record.id, previousOwner: dead },
      'took over the lease of an upload whose process on this host is gone',
    );
    return true;
  }

  /**
   * True when another live process holds an unexpired lease on this task (a lease of a process
   * of this host that is gone holds nothing: `pump` takes it over at once).
   */
  heldElsewhere(record: UploadTaskRecord, now = Date.now()): boolean {
    return (
      record.leaseOwner !== null &&
      record.leaseOwner !== this.owner &&
      record.leaseExpiresAt !== null &&
      record.leaseExpiresAt > now &&
      !isDeadLocalOwner(record.leaseOwner)
    );
  }

  runningAttempt(taskId: string): RunningAttempt | undefined {
    return this.running.get(taskId);
  }

  /** Stops a running attempt; its `done` resolves when it has let go of the task. */
  stop(
    run: RunningAttempt,
    reason: StopReason,
    why = reason === 'cancel' ? 'cancelled' : 'the upload service is closing',
  ): void {
    run.stop ??= reason;
    run.controller.abort(new AppError('UPLOAD_CANCELLED', why));
  }

  /** Queues the task now, or arms a timer for its next attempt. No-op for finished or running tasks. */
  schedule(task: UploadTask): void {
    if (!this.started || this.closed || isFinished(task.state)) return;
    if (this.running.has(task.id)) {
      this.again.add(task.id);
      return;
    }
    if (this.queue.includes(task.id) || this.timers.has(task.id)) return;
    const due =
      task.state === 'retry_wait' && task.nextAttemptAt ? Date.parse(task.nextAttemptAt) - Date.now() : 0;
    if (due > 0) {
      const timer = setTimeout(() => {
        this.timers.delete(task.id);
        this.queue.push(task.id);
        this.pump();
      }, due);
      this.timers.set(task.id, timer);
      return;
    }
    this.queue.push(task.id);
    this.pump();
  }

  unschedule(taskId: string): void {
    clearTimeout(this.timers.get(taskId));
    this.timers.delete(taskId);
    const index = this.queue.indexOf(taskId);
    if (index >= 0) this.queue.splice(index, 1);
  }

  private pump(): void {
    const { repo, concurrency, logger, leaseMs } = this.options;
    while (!this.closed && this.running.size < concurrency && this.queue.length > 0) {
      const id = this.queue.shift() as string;
      const record = repo.get(id);
      if (!record || isFinished(toTask(record).state)) continue;
      const now = Date.now();
      if (!repo.claim(id, this.owner, now, now + leaseMs) && !this.takeOverDead(record, now + leaseMs)) {
        this.watchForeign(id);
        continue;
      }
      const run: RunningAttempt = {
        owner: this.owner,
        controller: new AbortController(),
        stop: undefined,
        done: Promise.resolve(),
      };
      this.running.set(id, run);
      run.done = this.options
        .runAttempt(id, run)
        .catch((error: unknown) => logger.error({ err: error, taskId: id }, 'upload worker failed'))
        .finally(() => {
          this.running.delete(id);
          repo.release(id, this.owner);
          // A retry is scheduled only now: while the attempt ran, the task counted as running.
          const after = repo.get(id);
          const wanted = this.again.delete(id);
          if (after && (after.state === 'retry_wait' || wanted)) {
            this.schedule(toTask(after));
          }
          this.pump();
        });
    }
  }

  /** Renews the lease of every running attempt; stops an attempt whose lease is gone. */
  private renewLeases(): void {
    const expires = Date.now() + this.options.leaseMs;
    for (const [id, run] of this.running) {
      if (run.stop === 'cancel' || run.stop === 'lost') continue;
      if (!this.options.repo.renew(id, this.owner, expires, UNFINISHED_STATES)) {
        this.options.logger.warn({ taskId: id }, 'upload lease lost: the task was taken over or moved');
        this.stop(run, 'lost', 'the lease on the task was lost');
      }
    }
  }

  /** Polls tasks held by another live process, so waiters resolve and orphans are adopted. */
  private watchForeign(taskId: string): void {
    this.foreign.add(taskId);
    if (this.foreignTimer) return;
    this.foreignTimer = setInterval(
      () => {
        for (const id of [...this.foreign]) {
          const record = this.options.repo.get(id);
          if (!record) {
            this.foreign.delete(id);
            continue;
          }
          const task = toTask(record);
          if (isFinished(task.state)) {
            this.foreign.delete(id);
            this.options.onFinishedElsewhere(task);
          } else if (!this.heldElsewhere(record)) {
            this.foreign.delete(id);
            this.schedule(task);
          }
        }
        if (this.foreign.size === 0) {
          clearInterval(this.foreignTimer);
          this.foreignTimer = undefined;
        }
      },
      Math.min(1000, Math.max(10, this.options.leaseMs / 3)),
    );
  }
}

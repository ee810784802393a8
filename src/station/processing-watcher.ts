import { EventEmitter } from 'node:events';
import type { Logger } from '../logging/index.js';
import { processingFromRemote, type ProcessingView } from '../uploads/index.js';

/** Anything that can fetch the processing server's GET /status/:task_id body. */
export interface RemoteStatusSource {
  remoteStatus(taskId: string): Promise<unknown | undefined>;
}

const FINAL = new Set(['done', 'failed', 'received']);

/**
 * Follows processing on the server for uploads the station sent with auto_process: polls
 * the server's status (the station side; the page itself never polls) until the job is done
 * or failed, and emits each change. Polling stops after `maxWatchMs` so a stuck server does
 * not keep timers alive forever.
 */
export class ProcessingWatcher extends EventEmitter<{ change: [string, ProcessingView] }> {
  private readonly views = new Map<string, ProcessingView>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly source: RemoteStatusSource,
    private readonly logger: Logger,
    private readonly intervalMs = 1500,
    private readonly maxWatchMs = 6 * 3600 * 1000,
  ) {
    super();
  }

  get(taskId: string): ProcessingView | null {
    return this.views.get(taskId) ?? null;
  }

  /** Starts following a task (no-op when already followed or finished). */
  watch(taskId: string): void {
    if (this.closed || this.timers.has(taskId)) return;
    const current = this.views.get(taskId);
    if (current && FINAL.has(current.state)) return;
    const deadline = Date.now() + this.maxWatchMs;
    const tick = async () => {
      this.timers.delete(taskId);
      if (this.closed) return;
      try {
        const body = await this.source.remoteStatus(taskId);
        const view = body === undefined ? null : processingFromRemote(body);
        if (view) {
          const before = this.views.get(taskId);
          this.views.set(taskId, view);
          if (JSON.stringify(before) !== JSON.stringify(view)) this.emit('change', taskId, view);
          if (FINAL.has(view.state)) return;
        }
      } catch (error) {
        this.logger.debug({ err: error, taskId }, 'processing status not available yet');
      }
      if (!this.closed && Date.now() < deadline) {
        this.timers.set(
          taskId,
          setTimeout(() => void tick(), this.intervalMs),
        );
      }
    };
    this.timers.set(
      taskId,
      setTimeout(() => void tick(), 0),
    );
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

import { EventEmitter } from 'node:events';
import path from 'node:path';
import type {
  UploadProgressView,
  UploadQueue,
  UploadTaskState,
  UploadTaskView,
} from '../../src/sessions/index.js';

interface FakeQueueEvents {
  state: [UploadTaskView];
  progress: [UploadProgressView];
}

/**
 * A FAKE upload queue (the sessions part's `UploadQueue` seam): it sends nothing. The test moves
 * each task's state with `move()`, so the manager's reaction to upload states is tested exactly.
 * The real UploadService against a real ingest server is tested in recording-manager.test.ts.
 */
export class FakeUploadQueue extends EventEmitter<FakeQueueEvents> implements UploadQueue {
  readonly tasks = new Map<string, UploadTaskView>();
  /** What the manager asked of a segmented recording's task, in order. */
  readonly partCalls: Array<
    | { call: 'open'; taskId: string; recordingId: string; fileName: string; at: number }
    | { call: 'add'; taskId: string; index: number; filePath: string; at: number }
    | { call: 'close'; taskId: string; count: number; joinedFilePath: string | undefined; at: number }
  > = [];
  private next = 1;

  constructor(private readonly now: () => Date = () => new Date()) {
    super();
  }

  async enqueue(
    filePath: string,
    options: { sessionName?: string; recordingId?: string; autoProcess?: boolean } = {},
  ): Promise<UploadTaskView> {
    await Promise.resolve();
    const task: UploadTaskView = {
      id: `task_fake${String(this.next++).padStart(4, '0')}`,
      fileName: path.basename(filePath),
      recordingId: options.recordingId ?? null,
      state: 'queued',
      size: 0,
      bytesSent: 0,
      sha256: null,
      remoteUrl: null,
      lastError: null,
      createdAt: this.now().toISOString(),
      completedAt: null,
    };
    this.tasks.set(task.id, task);
    return task;
  }

  async openRecordingUpload(options: {
    recordingId: string;
    sessionName: string;
    autoProcess: boolean;
    fileName: string;
  }): Promise<string> {
    const task = await this.enqueue(options.fileName, options);
    this.partCalls.push({
      call: 'open',
      taskId: task.id,
      recordingId: options.recordingId,
      fileName: options.fileName,
      at: Date.now(),
    });
    return task.id;
  }

  addRecordingPart(taskId: string, part: { index: number; filePath: string }): void {
    this.partCalls.push({ call: 'add', taskId, ...part, at: Date.now() });
  }

  closeRecordingUpload(taskId: string, options: { count: number; joinedFilePath?: string }): void {
    this.partCalls.push({
      call: 'close',
      taskId,
      count: options.count,
      joinedFilePath: options.joinedFilePath,
      at: Date.now(),
    });
  }

  get(taskId: string): UploadTaskView | undefined {
    return this.tasks.get(taskId);
  }

  /** Moves a task to `state` and reports it as the real service does. */
  move(taskId: string, state: UploadTaskState): UploadTaskView {
    const task = this.tasks.get(taskId);
    if (!task) throw new Error(`fake queue: no task ${taskId}`);
    const moved: UploadTaskView = {
      ...task,
      state,
      completedAt: state === 'completed' ? this.now().toISOString() : null,
    };
    this.tasks.set(taskId, moved);
    this.emit('state', moved);
    return moved;
  }
}

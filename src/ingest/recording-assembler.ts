import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { IngestProtocol, IngestTask, IngestTaskStore } from '../store/index.js';
import { joinParts, probeAhead } from './recording-join.js';
import type { SegmentDeclaration } from './recording-parts.js';
import type { IngestStorage } from './storage/index.js';

/** What a part upload says about its recording's task besides the segment. */
export interface RecordingFacts {
  protocol: IngestProtocol;
  sessionName: string | null;
  autoProcess: boolean;
  uploadTime: string | null;
  ownerKeySha256: string | null;
}

/** One part as `/status/<task_id>` shows it. */
export interface PartView {
  index: number;
  file_name: string;
  size: number | null;
  sha256: string | null;
  state: 'receiving' | 'received';
}

/**
 * The ingest side of segmented recordings. A recording's task T is `receiving` (upload_ref
 * `parts`) while its parts arrive; each part is an ordinary verified upload stored under
 * `.parts/`. Once the count is known and parts 0..N-1 are all received, T is joined — once,
 * under T's lock — into `<data>/<T>/<recording file name>` (checked, then handed to
 * `storeJoined`, which records T as received and queues its processing), and the parts' bytes
 * are removed (their rows stay, so a part sent again is still recognised).
 *
 *   receiving (parts arrive) ──all N parts──▶ joining ──ok──▶ received (processed once)
 *                                                   └─fails─▶ receiving (retried on the next
 *                                                             part or at start-up)
 */
export class RecordingAssembler {
  private readonly joins = new Set<Promise<void>>();

  constructor(
    private readonly options: {
      tasks: IngestTaskStore;
      /** Where the parts are (s3: fetched into a scratch folder to be joined). */
      storage: IngestStorage;
      incomingDir: string;
      logger: Logger;
      /** Runs `work` under the task's lock (the service's, shared with completion). */
      locked: <T>(taskId: string, work: () => Promise<T>) => Promise<T>;
      /** Makes the verified joined file T's file (fsync, rename, record, queue processing). */
      storeJoined: (task: IngestTask, tempPath: string) => Promise<void>;
    },
  ) {}

  /**
   * Opens T (or tells it the part count) before a part is received or stored. TASK_CONFLICT
   * when T is an ordinary upload's task; nothing to do once T is joined (a part sent again).
   */
  async open(segment: SegmentDeclaration, facts: RecordingFacts): Promise<IngestTask | undefined> {
    const { tasks } = this.options;
    const existing = await tasks.get(segment.recordingTaskId);
    if (existing && existing.uploadRef !== 'parts' && existing.partsExpected === null) {
      throw new AppError(
        'TASK_CONFLICT',
        `task ${segment.recordingTaskId} is an ordinary upload, not a segmented recording`,
      );
    }
    if (existing?.state === 'received') return existing;
    if (
      existing?.partsExpected != null &&
      segment.count !== null &&
      existing.partsExpected !== segment.count
    ) {
      throw new AppError(
        'TASK_CONFLICT',
        `recording ${segment.recordingTaskId} has ${existing.partsExpected} parts, not ${segment.count}`,
      );
    }
    return tasks.openRecording({
      taskId: segment.recordingTaskId,
      protocol: facts.protocol,
      fileName: segment.recordingFileName,
      sessionName: facts.sessionName,
      autoProcess: facts.autoProcess,
      uploadTime: facts.uploadTime,
      ownerKeySha256: facts.ownerKeySha256,
      recordingId: segment.recordingId,
      partsExpected: segment.count,
    });
  }

  /** Starts the join of T in the background when all its parts are there (see `close`). */
  joinWhenComplete(taskId: string): void {
    const join = this.joinIfComplete(taskId)
      .catch((error: unknown) =>
        this.options.logger.error({ err: error, taskId }, 'could not join the parts of a recording'),
      )
      .finally(() => this.joins.delete(join));
    this.joins.add(join);
  }

  /** Start-up: joins every recording whose parts all arrived before the server stopped. */
  async resumeOpenRecordings(): Promise<void> {
    for (const task of await this.options.tasks.listOpenRecordings()) this.joinWhenComplete(task.taskId);
  }

  /** Waits for running joins (before the database closes). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.joins]);
  }

  /** The parts fields `/status/<T>` adds for a segmented recording; undefined for other tasks. */
  async view(task: IngestTask): Promise<Record<string, unknown> | undefined> {
    if (task.uploadRef !== 'parts' && task.partsExpected === null) return undefined;
    const parts: PartView[] = (await this.options.tasks.listParts(task.taskId)).map((p) => ({
      index: p.partIndex ?? 0,
      file_name: p.fileName,
      size: p.fileSize ?? p.declaredSize,
      sha256: p.sha256,
      state: p.state,
    }));
    return {
      parts,
      parts_expected: task.partsExpected,
      parts_received: parts.filter((p) => p.state === 'received').length,
    };
  }

  private async joinIfComplete(taskId: string): Promise<void> {
    await this.options.locked(taskId, async () => {
      const { tasks } = this.options;
      const task = await tasks.get(taskId);
      if (task?.state !== 'receiving' || task.uploadRef !== 'parts' || task.partsExpected === null) return;
      const expected = task.partsExpected;
      const parts = (await tasks.listParts(taskId)).filter((p) => p.state === 'received' && p.filePath);
      const { storage } = this.options;
      const stored: string[] = [];
      for (let index = 0; index < expected; index++) {
        const part = parts.find((p) => p.partIndex === index);
        if (!part?.filePath) return this.probeAhead(taskId, parts); // not all there yet
        stored.push(part.filePath);
      }
      const files: string[] = [];
      try {
        for (const relPath of stored) files.push(await storage.fetchInput(taskId, relPath));
        await this.join(task, files);
      } finally {
        await storage.releaseInputs(files);
      }
      // The joined file is verified and in place: the parts' bytes are no longer needed.
      for (const relPath of stored) await storage.removeRecording(relPath);
    });
  }

  /**
   * The parts stored so far are probed now, not after Stop (recording-join.ts, `probeAhead`):
   * on local disk only — an s3 part would have to be downloaded twice.
   */
  private async probeAhead(taskId: string, parts: ReadonlyArray<{ filePath: string | null }>): Promise<void> {
    const { storage } = this.options;
    if (storage.kind !== 'fs') return;
    for (const part of parts) {
      if (part.filePath) void probeAhead(await storage.fetchInput(taskId, part.filePath));
    }
  }

  /** Joins the local part files into a temporary file, checks it, and hands it to `storeJoined`. */
  private async join(task: IngestTask, files: string[]): Promise<void> {
    await mkdir(this.options.incomingDir, { recursive: true });
    const token = randomBytes(8).toString('hex');
    const tempPath = path.join(this.options.incomingDir, `${token}-${task.fileName}`);
    const listPath = path.join(this.options.incomingDir, `${token}.ffconcat`);
    try {
      const measured = await joinParts(files, tempPath, listPath);
      await this.options.storeJoined(task, tempPath);
      this.options.logger.info(
        { taskId: task.taskId, parts: files.length, ...measured },
        'recording parts joined',
      );
    } finally {
      await rm(tempPath, { force: true });
      await rm(listPath, { force: true });
    }
  }
}

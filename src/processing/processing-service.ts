import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError, toAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import {
  ProcessingJobRepository,
  type Db,
  type ProcessingJob,
  type ProcessingJobState,
} from '../store/index.js';
import {
  initialSteps,
  listOutputs,
  runPipeline,
  STEP_NAMES,
  type OutputFile,
  type PipelineSettings,
  type ProcessingReport,
  type StepRecord,
} from './pipeline.js';

/** Everything the service is configured with (see processorFromConfig for the INGEST_* mapping). */
export interface ProcessingSettings extends PipelineSettings {
  /** Jobs processed at once (INGEST_WORKERS). */
  workers: number;
}

/** What a caller queues: a stored upload and the folder its outputs go to. */
export interface ProcessingJobInput {
  taskId: string;
  filePath: string;
  outputDir: string;
}

/** A task's processing as `GET /status/:task_id` shows it. */
export interface ProcessingStatus {
  state: ProcessingJobState;
  progress: number;
  steps: Array<Omit<StepRecord, 'result'>>;
  report: ProcessingReport | null;
  outputs: OutputFile[];
  error?: { code: string; message: string };
}

/** The typed events of the service, one per state change (BullMQ-style). */
export interface ProcessingEvents {
  queued: [{ taskId: string }];
  started: [{ taskId: string; attempt: number }];
  step: [{ taskId: string; step: Omit<StepRecord, 'result'> }];
  progress: [{ taskId: string; progress: number }];
  done: [{ taskId: string; report: ProcessingReport; outputs: OutputFile[] }];
  failed: [{ taskId: string; error: { code: string; message: string } }];
  /** A run stopped without an outcome: re-queued while running, or the service closing. */
  interrupted: [{ taskId: string; reason: 'requeued' | 'closing' }];
}

export interface ProcessingServiceOptions {
  db: Db;
  /** Relative job paths are resolved against it. */
  dataDir: string;
  logger: Logger;
  settings: ProcessingSettings;
  now?: () => Date;
}

const stepSchema = z
  .object({
    name: z.enum(STEP_NAMES),
    state: z.enum(['pending', 'running', 'done', 'skipped', 'failed']),
    progress: z.number(),
    started_at: z.string().nullable(),
    finished_at: z.string().nullable(),
    note: z.string().optional(),
    error: z.object({ code: z.string(), message: z.string() }).optional(),
    result: z.unknown().optional(),
    outputs: z.array(z.object({ name: z.string(), size: z.number() })).optional(),
  })
  .transform((s): StepRecord => s as StepRecord);
const stepsSchema = z.array(stepSchema);
const outputsSchema = z.array(z.object({ name: z.string(), size: z.number() }));

interface ActiveRun {
  attempt: number;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * The ingest server's processing queue: jobs persisted in the ingest database, run by
 * `workers` concurrent workers through the ffmpeg pipeline. A failing job is recorded as failed
 * with its error code and the worker moves on; closing kills every ffmpeg child; start() after
 * a crash resumes interrupted jobs from their last finished step.
 */
export class ProcessingService extends EventEmitter<ProcessingEvents> {
  private readonly jobs: ProcessingJobRepository;
  private readonly active = new Map<string, ActiveRun>();
  private readonly now: () => Date;
  private started = false;
  private closed = false;

  constructor(private readonly options: ProcessingServiceOptions) {
    super();
    this.jobs = new ProcessingJobRepository(options.db);
    this.now = options.now ?? (() => new Date());
  }

  /** Queues a task, or queues it again from scratch; a run of it in progress is stopped first. */
  enqueue(job: ProcessingJobInput): void {
    if (this.closed) throw new AppError('INVALID_STATE', 'the processing service is closed');
    const running = this.active.get(job.taskId);
    this.jobs.enqueue(
      {
        taskId: job.taskId,
        filePath: path.resolve(this.options.dataDir, job.filePath),
        outputDir: path.resolve(this.options.dataDir, job.outputDir),
        steps: initialSteps(),
      },
      this.now(),
    );
    // The row is queued again before the old run is stopped, so the old run's last writes (which
    // name its attempt and require "processing") change nothing.
    running?.controller.abort(new AppError('PROCESSING_CANCELLED', 'queued again'));
    this.options.logger.info({ taskId: job.taskId }, 'processing queued');
    this.emit('queued', { taskId: job.taskId });
    this.pump();
  }

  /** The processing view of a task, or undefined when it was never queued. */
  status(taskId: string): ProcessingStatus | undefined {
    const job = this.jobs.get(taskId);
    if (!job) return undefined;
    const status: ProcessingStatus = {
      state: job.state,
      progress: job.progress,
      steps: parseSteps(job.steps).map(withoutResult),
      report: job.report === null ? null : (job.report as ProcessingReport),
      outputs: outputsSchema.safeParse(job.outputs).data ?? [],
    };
    if (job.error) status.error = job.error;
    return status;
  }

  /**
   * Starts the workers. Jobs a crash left "processing" are queued again with their finished
   * steps kept (so they resume), after making sure the ffmpeg they were running is gone.
   */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (const job of this.jobs.listByState('processing')) {
      if (this.active.has(job.taskId)) continue;
      reapOrphan(job, this.options.logger);
      this.jobs.requeue(job.taskId, job.attempt, this.now());
      this.options.logger.info({ taskId: job.taskId }, 'resuming interrupted processing');
    }
    this.pump();
  }

  /** Stops the workers: running jobs are killed (their ffmpeg with them) and left queued for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    const runs = [...this.active.values()];
    for (const run of runs)
      run.controller.abort(new AppError('PROCESSING_CANCELLED', 'the server is closing'));
    await Promise.all(runs.map((r) => r.done));
  }

  /** Fills free worker slots with queued jobs. */
  private pump(): void {
    if (!this.started || this.closed) return;
    while (this.active.size < this.options.settings.workers) {
      // A task whose previous run is still being stopped waits for it: both would write the same outputs.
      const job = this.jobs.claimNext(this.now(), [...this.active.keys()]);
      if (!job) return;
      const controller = new AbortController();
      const run: ActiveRun = { attempt: job.attempt, controller, done: Promise.resolve() };
      this.active.set(job.taskId, run);
      run.done = this.run(job, controller).finally(() => {
        if (this.active.get(job.taskId) === run) this.active.delete(job.taskId);
        this.pump();
      });
    }
  }

  /** One run of one job. Never throws: every outcome is recorded, so the worker always goes on. */
  private async run(job: ProcessingJob, controller: AbortController): Promise<void> {
    const { taskId, attempt } = job;
    const log = this.options.logger.child({ taskId, attempt });
    log.info('processing started');
    this.emit('started', { taskId, attempt });
    let steps = parseSteps(job.steps);
    try {
      const result = await runPipeline(job.filePath, job.outputDir, this.options.settings, {
        signal: controller.signal,
        previous: steps,
        now: this.now,
        onSpawn: (pid) => this.safely(log, () => this.jobs.setChildPid(taskId, attempt, pid)),
        onUpdate: (next, progress) => {
          const changed = next.filter((s, i) => s.state !== steps[i]?.state || s.name !== steps[i]?.name);
          steps = next;
          this.safely(log, () => this.jobs.updateProgress(taskId, attempt, progress, next, this.now()));
          for (const step of changed) this.emit('step', { taskId, step: withoutResult(step) });
          this.emit('progress', { taskId, progress });
        },
      });
      if (this.jobs.complete(taskId, attempt, result, this.now())) {
        log.info({ report: summary(result.report) }, 'processing done');
        this.emit('done', { taskId, report: result.report, outputs: result.outputs });
      }
    } catch (error) {
      if (controller.signal.aborted) {
        const reason = this.closed ? 'closing' : 'requeued';
        // Closing leaves the job for the next start; a re-queue has already reset the row.
        if (reason === 'closing') this.safely(log, () => this.jobs.requeue(taskId, attempt, this.now()));
        log.info({ reason }, 'processing interrupted');
        this.emit('interrupted', { taskId, reason });
        return;
      }
      const appError = toAppError(error, 'processing failed');
      const reported = { code: appError.code, message: appError.message };
      log.warn({ err: error, code: appError.code }, 'processing failed');
      const outputs = await listOutputs(job.outputDir);
      if (
        this.safely(log, () =>
          this.jobs.fail(taskId, attempt, { steps, outputs, error: reported }, this.now()),
        )
      ) {
        this.emit('failed', { taskId, error: reported });
      }
    }
  }

  /** A store write that must not take the worker down (e.g. the database closed under it). */
  private safely(log: Logger, write: () => boolean): boolean {
    try {
      return write();
    } catch (error) {
      log.error({ err: error }, 'could not record processing state');
      return false;
    }
  }
}

function parseSteps(value: unknown): StepRecord[] {
  const parsed = stepsSchema.safeParse(value);
  return parsed.success ? parsed.data : initialSteps();
}

function withoutResult(step: StepRecord): Omit<StepRecord, 'result'> {
  const { result: _result, ...rest } = step;
  return rest;
}

function summary(report: ProcessingReport): Record<string, number> {
  return {
    original_duration: report.original_duration,
    edited_duration: report.edited_duration,
    segments_removed: report.segments_removed,
  };
}

/**
 * After a crash, the ffmpeg a job was running may still be alive where the kernel could not tie
 * it to our life (no setpriv). Kill it — but only if that pid is still an ffmpeg/ffprobe working on
 * this job's file, never a process that merely reused the number.
 */
function reapOrphan(job: ProcessingJob, logger: Logger): void {
  if (job.childPid === null || process.platform !== 'linux') return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${job.childPid}/cmdline`, 'utf8');
  } catch {
    return; // already gone
  }
  const args = cmdline.split('\0');
  const isOurs = args.some((a) => /ff(mpeg|probe)$/.test(a)) && args.includes(job.filePath);
  if (!isOurs) return;
  try {
    process.kill(job.childPid, 'SIGKILL');
    logger.warn({ taskId: job.taskId, pid: job.childPid }, 'killed ffmpeg left over from before a restart');
  } catch {
    // It exited between the check and the kill.
  }
}

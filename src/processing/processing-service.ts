import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { AppError, toAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import {
  sqliteJobStore,
  type Db,
  type ProcessingJob,
  type ProcessingJobState,
  type ProcessingJobStore,
  type RunRef,
} from '../store/index.js';
import { processIsGone } from '../store/process-gone.js';
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
  /**
   * How long a claim on a job lasts unless renewed (renewed every third of it while the job runs).
   * Default 30 s: a job whose owner died is taken over by another instance within that time.
   */
  leaseMs?: number;
}

/** Default length of a processing lease. */
export const DEFAULT_LEASE_MS = 30_000;

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
  interrupted: [{ taskId: string; reason: 'requeued' | 'closing' | 'lease_lost' }];
}

/**
 * Where queued jobs are announced when processing runs on `streamai worker`s (QUEUE_URL): the row
 * in the database stays the job's truth, the announcement only wakes a worker. `generation` tells
 * runs of one task apart, so announcing the same run twice queues it once.
 */
export interface ProcessingDispatch {
  add(taskId: string, generation: number): Promise<void>;
  /** Closed with the service. */
  close(): Promise<void>;
}

/** What a worker's run of one announced job came to. */
export type ClaimedRunOutcome = 'done' | 'failed' | 'interrupted' | 'not-queued';

export interface ProcessingServiceOptions {
  /** Where the jobs live (the ingest state's `jobs`); or `db`, an open SQLite ingest database. */
  jobs?: ProcessingJobStore;
  db?: Db;
  /** Relative job paths are resolved against it. */
  dataDir: string;
  logger: Logger;
  settings: ProcessingSettings;
  now?: () => Date;
  /** Announce jobs to queue workers instead of running them here (with settings.workers = 0). */
  dispatch?: ProcessingDispatch;
  /** Where the input and outputs really live (INGEST_STORAGE=s3: a bucket); absent: in place. */
  runHooks?: ProcessingRunHooks | undefined;
}

/**
 * Storage around a run (src/ingest/storage's storageRunHooks for INGEST_STORAGE=s3): `beforeRun`
 * makes the input present at the job's filePath on this machine, `afterRun` stores what the run
 * left in outputDir before the outcome is recorded (a job shown done has its outputs). Not
 * called after an interrupted run: it resumes from the same files.
 */
export interface ProcessingRunHooks {
  beforeRun(job: ProcessingJobInput): Promise<void>;
  afterRun(job: ProcessingJobInput, outcome: 'done' | 'failed'): Promise<void>;
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
  /** Set when a renewal found the lease gone: the run stops without writing an outcome. */
  leaseLost: boolean;
  controller: AbortController;
  done: Promise<void>;
  /** The run's store writes, one after another (progress must not overtake an older progress). */
  writes: Promise<unknown>;
}

/**
 * The ingest server's processing queue: jobs persisted in the ingest database, run by
 * `workers` concurrent workers through the ffmpeg pipeline. A failing job is recorded as failed
 * with its error code and the worker moves on; closing kills every ffmpeg child; start() after
 * a crash resumes interrupted jobs from their last finished step.
 */
export class ProcessingService extends EventEmitter<ProcessingEvents> {
  private readonly jobs: ProcessingJobStore;
  private readonly active = new Map<string, ActiveRun>();
  private readonly now: () => Date;
  private started = false;
  private closed = false;
  /** This instance's lease owner id: host and pid (so a restart on this host sees a dead owner), and a random part. */
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly leaseMs: number;
  private poll: NodeJS.Timeout | undefined;
  /** A pump claiming jobs; a call meanwhile makes it go round once more. */
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;

  constructor(private readonly options: ProcessingServiceOptions) {
    super();
    if (options.jobs) this.jobs = options.jobs;
    else if (options.db) this.jobs = sqliteJobStore(options.db);
    else throw new Error('a ProcessingService needs a job store or a db');
    this.now = options.now ?? (() => new Date());
    this.leaseMs = options.settings.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** Queues a task, or queues it again from scratch; a run of it in progress is stopped first. */
  async enqueue(job: ProcessingJobInput): Promise<void> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the processing service is closed');
    const running = this.active.get(job.taskId);
    await this.jobs.enqueue(
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
    await this.announce(job.taskId);
    this.pump();
  }

  /**
   * Runs one job a queue worker was handed: claims it (queued, or processing under a lease that
   * ran out) and runs it to its end. A job already done or failed, or re-queued under a newer
   * generation, is not run again ('not-queued'): a job is never finished twice. Rejects with
   * UPLOAD_LOCKED while another live worker holds its lease, so that the queue retries it later.
   */
  async runClaimed(taskId: string): Promise<ClaimedRunOutcome> {
    if (this.closed) throw new AppError('INVALID_STATE', 'the processing service is closed');
    const job = await this.jobs.claimNext(
      { owner: this.owner, durationMs: this.leaseMs },
      this.now(),
      [],
      taskId,
    );
    if (!job) {
      const current = await this.jobs.get(taskId);
      if (current?.state === 'processing') {
        throw new AppError('UPLOAD_LOCKED', `${taskId} is being processed by another worker`);
      }
      return 'not-queued';
    }
    if (job.takenOver) reapOrphan(job, this.options.logger);
    const controller = new AbortController();
    const run = newRun(job.attempt, controller);
    this.active.set(taskId, run);
    try {
      run.done = this.run(job, run);
      await run.done;
    } finally {
      if (this.active.get(taskId) === run) this.active.delete(taskId);
    }
    // The row says what this run came to: its own attempt ended done or failed, or else it was
    // stopped (closing, re-queued, its lease taken by another worker).
    const after = await this.jobs.get(taskId);
    if (after?.attempt !== job.attempt) return 'interrupted';
    return after.state === 'done' || after.state === 'failed' ? after.state : 'interrupted';
  }

  /** Hands a queued job to the queue workers (when they run processing); a failure is logged, and start() announces again. */
  private async announce(taskId: string): Promise<void> {
    const dispatch = this.options.dispatch;
    if (!dispatch) return;
    try {
      const job = await this.jobs.get(taskId);
      if (job) await dispatch.add(taskId, Date.parse(job.queuedAt));
    } catch (error) {
      this.options.logger.error({ err: error, taskId }, 'could not hand the job to the processing queue');
    }
  }

  /** The processing view of a task, or undefined when it was never queued. */
  async status(taskId: string): Promise<ProcessingStatus | undefined> {
    const job = await this.jobs.get(taskId);
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
   * Starts the workers. Jobs "processing" under a lease that has expired, or whose owner was a
   * process of this host that is gone (a crash or restart), are queued again at once with their
   * finished steps kept (so they resume), after making sure the ffmpeg they ran is gone. A job
   * whose owner is alive elsewhere is left to it; if that owner stops renewing, the poll below
   * takes the job over when its lease expires.
   */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    const nowMs = this.now().getTime();
    for (const job of await this.jobs.listByState('processing')) {
      if (this.active.has(job.taskId)) continue;
      const expired = (job.leaseExpiresAt ?? 0) <= nowMs;
      if (!expired && !ownerIsGone(job.leaseOwner)) continue;
      reapOrphan(job, this.options.logger);
      await this.jobs.requeue(
        { taskId: job.taskId, attempt: job.attempt, owner: job.leaseOwner },
        this.now(),
      );
      this.options.logger.info({ taskId: job.taskId }, 'resuming interrupted processing');
    }
    // Queue workers may have missed an announcement (this node crashed right after queuing):
    // announcing again is harmless, the queue keeps one job per run.
    if (this.options.dispatch) {
      const waiting = [
        ...(await this.jobs.listByState('queued')),
        ...(await this.jobs.listByState('processing')),
      ];
      for (const job of waiting) await this.announce(job.taskId);
    }
    this.poll = setInterval(() => this.pump(), Math.max(100, this.leaseMs / 3));
    this.poll.unref();
    this.pump();
  }

  /** Stops the workers: running jobs are killed (their ffmpeg with them) and left queued for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.poll);
    const runs = [...this.active.values()];
    for (const run of runs)
      run.controller.abort(new AppError('PROCESSING_CANCELLED', 'the server is closing'));
    await this.pumping;
    await Promise.all(runs.map((r) => r.done));
    await this.options.dispatch?.close();
  }

  /** Fills free worker slots with queued jobs. */
  private pump(): void {
    if (!this.started || this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pumpOnce()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'could not claim processing jobs'))
      .finally(() => {
        this.pumping = undefined;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.pump();
        }
      });
  }

  private async pumpOnce(): Promise<void> {
    while (!this.closed && this.active.size < this.options.settings.workers) {
      // A task whose previous run is still being stopped waits for it: both would write the same outputs.
      const job = await this.jobs.claimNext({ owner: this.owner, durationMs: this.leaseMs }, this.now(), [
        ...this.active.keys(),
      ]);
      if (!job) return;
      if (job.takenOver) {
        this.options.logger.warn({ taskId: job.taskId }, 'took over processing whose lease expired');
        reapOrphan(job, this.options.logger);
      }
      const run = newRun(job.attempt, new AbortController());
      this.active.set(job.taskId, run);
      run.done = this.run(job, run).finally(() => {
        if (this.active.get(job.taskId) === run) this.active.delete(job.taskId);
        this.pump();
      });
    }
  }

  /** One run of one job. Never throws: every outcome is recorded, so the worker always goes on. */
  private async run(job: ProcessingJob, active: ActiveRun): Promise<void> {
    const { taskId, attempt } = job;
    const { controller } = active;
    const ref: RunRef = { taskId, attempt, owner: this.owner };
    const log = this.options.logger.child({ taskId, attempt });
    log.info('processing started');
    this.emit('started', { taskId, attempt });
    let steps = parseSteps(job.steps);
    // Renewed every third of the lease; a renewal that finds the lease gone stops the run.
    const renewal = setInterval(() => {
      void this.safely(log, () => this.jobs.renewLease(ref, this.leaseMs, this.now())).then((held) => {
        if (held || controller.signal.aborted) return;
        active.leaseLost = true;
        controller.abort(new AppError('PROCESSING_CANCELLED', 'the lease on this job was lost'));
      });
    }, this.leaseMs / 3);
    // Writes made from the pipeline's callbacks go in order, each after the one before.
    const write = (w: () => Promise<boolean>): void => {
      active.writes = active.writes.then(() => this.safely(log, w));
    };
    const hooks = this.options.runHooks;
    try {
      await hooks?.beforeRun(job);
      const result = await runPipeline(job.filePath, job.outputDir, this.options.settings, {
        signal: controller.signal,
        previous: steps,
        now: this.now,
        onSpawn: (pid) => write(() => this.jobs.setChildPid(ref, pid)),
        onUpdate: (next, progress) => {
          const changed = next.filter((s, i) => s.state !== steps[i]?.state || s.name !== steps[i]?.name);
          steps = next;
          write(() => this.jobs.updateProgress(ref, progress, next, this.now()));
          for (const step of changed) this.emit('step', { taskId, step: withoutResult(step) });
          this.emit('progress', { taskId, progress });
        },
      });
      await active.writes;
      await hooks?.afterRun(job, 'done');
      if (await this.safely(log, () => this.jobs.complete(ref, result, this.now()))) {
        log.info({ report: summary(result.report) }, 'processing done');
        this.emit('done', { taskId, report: result.report, outputs: result.outputs });
      }
    } catch (error) {
      if (controller.signal.aborted) {
        const reason = active.leaseLost ? 'lease_lost' : this.closed ? 'closing' : 'requeued';
        // Closing leaves the job for the next start; a re-queue has already reset the row; a lost
        // lease belongs to someone else now.
        await active.writes;
        if (reason === 'closing') await this.safely(log, () => this.jobs.requeue(ref, this.now()));
        log.info({ reason }, 'processing interrupted');
        this.emit('interrupted', { taskId, reason });
        return;
      }
      const appError = toAppError(error, 'processing failed');
      const reported = { code: appError.code, message: appError.message };
      log.warn({ err: error, code: appError.code }, 'processing failed');
      const outputs = await listOutputs(job.outputDir);
      await hooks
        ?.afterRun(job, 'failed')
        .catch((e: unknown) => log.error({ err: e }, 'could not store the outputs'));
      await active.writes;
      if (
        await this.safely(log, () => this.jobs.fail(ref, { steps, outputs, error: reported }, this.now()))
      ) {
        this.emit('failed', { taskId, error: reported });
      }
    } finally {
      clearInterval(renewal);
    }
  }

  /** A store write that must not take the worker down (e.g. the database closed under it). */
  private async safely(log: Logger, write: () => Promise<boolean>): Promise<boolean> {
    try {
      return await write();
    } catch (error) {
      log.error({ err: error }, 'could not record processing state');
      return false;
    }
  }
}

function newRun(attempt: number, controller: AbortController): ActiveRun {
  return { attempt, leaseLost: false, controller, done: Promise.resolve(), writes: Promise.resolve() };
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
 * Whether a lease owner id names a process of this host that no longer exists: its job can be taken
 * over at once instead of waiting for the lease to run out. An owner of another host, or one still
 * alive, is not gone; neither is an owner id this code cannot read.
 */
function ownerIsGone(owner: string | null): boolean {
  if (owner === null) return true;
  const [host, pidText] = owner.split('/');
  return host === hostname() && processIsGone(Number(pidText));
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

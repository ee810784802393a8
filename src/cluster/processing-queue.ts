import { Queue, Worker, createPostgresBackend, type Job, type JobsOptions } from 'bullmq';
import type { QueueConfig } from '../config/index.js';

/** The BullMQ queue every ingest node adds processing jobs to and every `streamai worker` takes from. */
export const PROCESSING_QUEUE_NAME = 'streamai-processing';

/** What a job carries: the task to process; everything else is read from the shared database. */
export interface ProcessingJobData {
  taskId: string;
}

/** Runs one job; rejects to let BullMQ retry it (attempts, backoff), as configured. */
export type ProcessingJobHandler = (data: ProcessingJobData, job: Job<ProcessingJobData>) => Promise<void>;

/** BullMQ's PostgreSQL connection for QUEUE_URL (its tables are created on first use). */
const postgresConnection = (config: QueueConfig) => ({ connectionString: config.url, migrate: true });
/** Workers block on Redis; ioredis must not give up on a blocked command (BullMQ's own advice). */
const redisConnection = (config: QueueConfig) => ({ url: config.url, maxRetriesPerRequest: null });

/**
 * The processing queue on BullMQ (QUEUE_URL: PostgreSQL or Redis). A job's id is the task id and
 * its enqueue generation, so adding the same run twice (two ingest nodes, a retried request)
 * queues it once. Retries, backoff and stalled-job handling are BullMQ's, from QUEUE_* config.
 */
/** The part of a BullMQ Queue this class uses, the same for both backends' generic types. */
interface JobAdder {
  add(name: string, data: ProcessingJobData, opts: JobsOptions): Promise<unknown>;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export class ProcessingQueue {
  private readonly queue: JobAdder;
  private readonly workers: Array<{ close(): Promise<void> }> = [];

  constructor(private readonly config: QueueConfig) {
    this.queue =
      config.backend === 'postgres'
        ? new Queue(PROCESSING_QUEUE_NAME, { connection: postgresConnection(config) }, createPostgresBackend)
        : new Queue(PROCESSING_QUEUE_NAME, { connection: redisConnection(config) });
  }

  /** Adds a run of `taskId`; `generation` tells runs apart (a rerun asked for later is a new job). */
  async add(taskId: string, generation: number): Promise<void> {
    await this.queue.add(
      'process',
      { taskId },
      {
        jobId: `${taskId}.${generation}`,
        attempts: this.config.attempts,
        backoff: { type: 'exponential', delay: this.config.backoffMs },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      },
    );
  }

  /** Starts a worker that runs `handler` on up to `concurrency` jobs at once. */
  work(handler: ProcessingJobHandler, concurrency: number): { close(): Promise<void> } {
    const options = {
      concurrency,
      lockDuration: this.config.lockDurationMs,
      stalledInterval: this.config.stalledIntervalMs,
      maxStalledCount: this.config.maxStalledCount,
    };
    const processor = async (job: Job<ProcessingJobData>): Promise<void> => handler(job.data, job);
    const config = this.config;
    const worker =
      config.backend === 'postgres'
        ? new Worker(
            PROCESSING_QUEUE_NAME,
            processor,
            { ...options, connection: postgresConnection(config) },
            createPostgresBackend,
          )
        : new Worker(PROCESSING_QUEUE_NAME, processor, {
            ...options,
            connection: redisConnection(config),
          });
    this.workers.push(worker);
    return worker;
  }

  /** Jobs waiting, running and delayed (queue depth for /metrics and `streamai status`). */
  async counts(): Promise<{ waiting: number; active: number; delayed: number; failed: number }> {
    const c = await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
    return { waiting: c.waiting ?? 0, active: c.active ?? 0, delayed: c.delayed ?? 0, failed: c.failed ?? 0 };
  }

  /** Closes workers first (each finishes or gives back its job), then the queue. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await this.queue.close();
  }
}

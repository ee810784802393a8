import { Counter, Histogram, Registry, Gauge, collectDefaultMetrics } from 'prom-client';
import type { IngestState } from '../store/index.js';
import { UPLOAD_BUCKETS, diskGauge, webhookGauge, type WebhookCounts } from './station-metrics.js';

/** Seconds a processing step takes: a probe well under a second, a long edit an hour. */
const STEP_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

interface StepEvent {
  taskId: string;
  step: { name: string; state: string; started_at: string | null; finished_at: string | null };
}

interface ProcessingEmitter {
  on(event: 'step', listener: (e: StepEvent) => void): unknown;
  on(event: 'started' | 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
  off(event: 'step', listener: (e: StepEvent) => void): unknown;
  off(event: 'started' | 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
}

function isEmitter(value: unknown): value is ProcessingEmitter {
  return typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function';
}

export interface IngestMetricsOptions {
  /** The ingest state; its tables are counted at scrape time. */
  state: IngestState;
  dataDir: string;
  /** The processor (ProcessingService emits step/started/done/failed). */
  processor?: unknown;
  webhooks?: () => WebhookCounts | undefined;
}

/**
 * The ingest server's Prometheus registry: tasks and processing jobs by state (database, at
 * scrape time), bytes received (`received.inc` from the HTTP layer), upload durations, step and
 * job durations (from the processing service's events), free disk, webhook queue.
 */
export function createIngestMetrics(options: IngestMetricsOptions): {
  registry: Registry;
  addReceivedBytes: (n: number) => void;
  close: () => void;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { state } = options;
  new Gauge({
    name: 'streamai_ingest_uploads',
    help: 'Uploads by receiving state (receiving, received)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await state.countByState('ingest_tasks');
      for (const state of ['receiving', 'received']) this.set({ state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'streamai_processing_jobs',
    help: 'Processing jobs by state (queued ones are the queue)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await state.countByState('processing_jobs');
      for (const state of ['queued', 'processing', 'done', 'failed']) this.set({ state }, counts[state] ?? 0);
    },
  });
  const received = new Counter({
    name: 'streamai_ingest_bytes_received_total',
    help: 'Bytes read from clients (requests with their bodies)',
    registers: [registry],
  });
  const steps = new Histogram({
    name: 'streamai_processing_step_duration_seconds',
    help: 'Duration of each processing step, by step and outcome',
    labelNames: ['step', 'state'],
    buckets: STEP_BUCKETS,
    registers: [registry],
  });
  const jobs = new Histogram({
    name: 'streamai_processing_duration_seconds',
    help: 'Duration of a whole processing run, by outcome',
    labelNames: ['outcome'],
    buckets: UPLOAD_BUCKETS,
    registers: [registry],
  });
  diskGauge(registry, { data: options.dataDir });
  webhookGauge(registry, options.webhooks);

  const startedAt = new Map<string, number>();
  const onStep = ({ step }: StepEvent): void => {
    if (step.state !== 'done' && step.state !== 'failed') return;
    if (!step.started_at || !step.finished_at) return;
    const seconds = (Date.parse(step.finished_at) - Date.parse(step.started_at)) / 1000;
    if (Number.isFinite(seconds)) steps.observe({ step: step.name, state: step.state }, Math.max(0, seconds));
  };
  const onStarted = ({ taskId }: { taskId: string }): void => void startedAt.set(taskId, Date.now());
  const finished =
    (outcome: 'done' | 'failed') =>
    ({ taskId }: { taskId: string }): void => {
      const start = startedAt.get(taskId);
      startedAt.delete(taskId);
      if (start !== undefined) jobs.observe({ outcome }, (Date.now() - start) / 1000);
    };
  const onDone = finished('done');
  const onFailed = finished('failed');
  const emitter = isEmitter(options.processor) ? options.processor : undefined;
  emitter?.on('step', onStep);
  emitter?.on('started', onStarted);
  emitter?.on('done', onDone);
  emitter?.on('failed', onFailed);
  return {
    registry,
    addReceivedBytes: (n) => received.inc(n),
    close: () => {
      emitter?.off('step', onStep);
      emitter?.off('started', onStarted);
      emitter?.off('done', onDone);
      emitter?.off('failed', onFailed);
    },
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { freeBytes } from '../retention/index.js';
import { countByState, type Db, type WebhookStore } from '../store/index.js';

/** The webhook queue as the metrics read it (a Notifier's `repository`). */
export type WebhookCounts = Pick<WebhookStore, 'countByState'>;

/** Upload states, so every series exists (at 0) from the first scrape. */
const UPLOAD_STATES = [
  'queued',
  'validating',
  'compressing',
  'uploading',
  'retry_wait',
  'completed',
  'failed',
  'cancelled',
];
const RECORDER_STATES = ['idle', 'starting', 'recording', 'stopping'];
/** Seconds: a short clip uploads in a second, a long session over a slow line in hours. */
export const UPLOAD_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];

/** The events the station's upload service emits (UploadService, structurally). */
export interface UploadEventSource {
  on(event: 'progress', listener: (p: { taskId: string; bytesSent: number }) => void): unknown;
  on(event: 'state', listener: (t: UploadTaskLike) => void): unknown;
  off(event: 'progress', listener: (p: { taskId: string; bytesSent: number }) => void): unknown;
  off(event: 'state', listener: (t: UploadTaskLike) => void): unknown;
}

interface UploadTaskLike {
  id: string;
  state: string;
  protocol: string | null;
  bytesSent: number;
  lastError: { code: string } | null;
  createdAt: string;
  completedAt: string | null;
}

export interface StationMetricsOptions {
  db: Db;
  uploads: UploadEventSource;
  /** The upload part's one finished-state test (metrics does not import the uploads part). */
  isFinished: (state: string) => boolean;
  /** The recorder's state and connection (Station.status().recorder). */
  recorder: () => { state: string; connected: boolean };
  webhooks?: () => WebhookCounts | undefined;
  recordingsPath: string;
  dataDir: string;
}

/** Webhook queue depth by delivery state; shared by both servers' registries. */
export function webhookGauge(
  registry: Registry,
  webhooks: (() => WebhookCounts | undefined) | undefined,
): void {
  new Gauge({
    name: 'streamai_webhook_deliveries',
    help: 'Webhook / Discord / ntfy deliveries by state (pending ones are the queue)',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await webhooks?.()?.countByState();
      for (const state of ['pending', 'delivering', 'delivered', 'failed'] as const)
        this.set({ state }, counts?.[state] ?? 0);
    },
  });
}

/** Free bytes of each named folder's filesystem, read at scrape time. */
export function diskGauge(registry: Registry, folders: Record<string, string>): void {
  new Gauge({
    name: 'streamai_disk_free_bytes',
    help: 'Bytes free (for this user) on the filesystem of each folder',
    labelNames: ['folder'],
    registers: [registry],
    async collect() {
      for (const [folder, dir] of Object.entries(folders)) {
        const free = await freeBytes(dir).catch(() => undefined);
        if (free !== undefined) this.set({ folder }, free);
      }
    },
  });
}

/**
 * The station's Prometheus registry: uploads by state and queue depth (from the database at
 * scrape time), bytes sent, upload durations and retries by error code (from the upload
 * service's events), recorder state, free disk, webhook queue, and Node's process metrics.
 */
export function createStationMetrics(options: StationMetricsOptions): {
  registry: Registry;
  close: () => void;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const { db, uploads } = options;
  new Gauge({
    name: 'streamai_uploads',
    help: 'Upload tasks by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts = countByState(db, 'upload_tasks');
      for (const state of UPLOAD_STATES) this.set({ state }, counts[state] ?? 0);
    },
  });
  new Gauge({
    name: 'streamai_upload_queue_depth',
    help: 'Upload tasks waiting to run (queued or waiting for a retry)',
    registers: [registry],
    collect() {
      const counts = countByState(db, 'upload_tasks');
      this.set((counts.queued ?? 0) + (counts.retry_wait ?? 0));
    },
  });
  const sent = new Counter({
    name: 'streamai_upload_bytes_sent_total',
    help: 'Bytes of recordings sent to the processing server (resent bytes after a failure count again)',
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'streamai_upload_duration_seconds',
    help: 'Time from enqueue to the server confirming the upload',
    labelNames: ['protocol'],
    buckets: UPLOAD_BUCKETS,
    registers: [registry],
  });
  const retries = new Counter({
    name: 'streamai_upload_retries_total',
    help: 'Upload attempts that failed and will be retried, by error code',
    labelNames: ['code'],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'streamai_upload_failures_total',
    help: 'Uploads that gave up, by error code',
    labelNames: ['code'],
    registers: [registry],
  });
  new Gauge({
    name: 'streamai_recorder_state',
    help: 'The recorder state: 1 for the current one',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const { state } = options.recorder();
      for (const s of RECORDER_STATES) this.set({ state: s }, s === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'streamai_recorder_connected',
    help: '1 when the recorder (OBS or ffmpeg) is available',
    registers: [registry],
    collect() {
      this.set(options.recorder().connected ? 1 : 0);
    },
  });
  diskGauge(registry, { recordings: options.recordingsPath, data: options.dataDir });
  webhookGauge(registry, options.webhooks);

  const lastSent = new Map<string, number>();
  const onProgress = (p: { taskId: string; bytesSent: number }): void => {
    // tus resumes from the server's offset (counted once); a new multipart attempt restarts
    // below what was seen, which only moves the baseline (its first chunk goes uncounted).
    const before = lastSent.get(p.taskId);
    if (before !== undefined && p.bytesSent > before) sent.inc(p.bytesSent - before);
    lastSent.set(p.taskId, p.bytesSent);
  };
  const onState = (t: UploadTaskLike): void => {
    if (t.state === 'retry_wait') retries.inc({ code: t.lastError?.code ?? 'UNKNOWN' });
    if (t.state === 'failed') failures.inc({ code: t.lastError?.code ?? 'UNKNOWN' });
    if (t.state === 'completed' && t.completedAt) {
      duration.observe(
        { protocol: t.protocol ?? 'unknown' },
        Math.max(0, (Date.parse(t.completedAt) - Date.parse(t.createdAt)) / 1000),
      );
    }
    if (options.isFinished(t.state)) lastSent.delete(t.id);
  };
  uploads.on('progress', onProgress);
  uploads.on('state', onState);
  return {
    registry,
    close: () => {
      uploads.off('progress', onProgress);
      uploads.off('state', onState);
    },
  };
}

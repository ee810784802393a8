import type { Logger } from '../logging/index.js';
import type { Db, IngestTask, WebhookRepository } from '../store/index.js';
import { Notifier, type NotifyTargets } from './notifier.js';

/** What the ingest side offers the event source (kept structural: src/ingest is not imported). */
export interface IngestEventSourceOptions {
  notifier: Notifier;
  /** Recent tasks, most recent first (IngestTaskRepository.listRecent). */
  listRecent: (limit: number) => IngestTask[];
  /** A task's public /status view (IngestService.viewOf). */
  view: (task: IngestTask) => Record<string, unknown>;
  /** The task by id (IngestTaskRepository.get). */
  get: (taskId: string) => IngestTask | undefined;
  /** The processor, when it emits `done`/`failed` (ProcessingService does). */
  processor?: unknown;
  /** The server's base URL once listening, for the links in the events. */
  baseUrl: () => string;
  logger: Logger;
  /** How often to look for newly received uploads [1 s]. */
  pollMs?: number;
}

const CURSOR = 'ingest.received';

interface ProcessingEmitter {
  on(event: 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
  off(event: 'done' | 'failed', listener: (e: { taskId: string }) => void): unknown;
}

function isEmitter(value: unknown): value is ProcessingEmitter {
  return typeof value === 'object' && value !== null && typeof (value as { on?: unknown }).on === 'function';
}

/**
 * The ingest server's events: `upload.completed` when an upload is received and verified (found
 * by scanning the tasks table past a cursor stored in the database, so an upload received just
 * before a crash is still announced after it), and `processing.done` / `processing.failed` from
 * the processing service's events. Data is the task's /status view plus links to it and its outputs.
 */
export function notifyIngestEvents(options: IngestEventSourceOptions): { close: () => void } {
  const { notifier, logger } = options;
  const repo: WebhookRepository = notifier.repository;
  if (repo.getCursor(CURSOR) === undefined) repo.setCursor(CURSOR, new Date().toISOString()); // history is not news

  const withLinks = (task: IngestTask): Record<string, unknown> => {
    const base = options.baseUrl();
    const view = options.view(task);
    const processing = view.processing as { outputs?: Array<{ name: string }> } | undefined;
    return {
      ...view,
      links: {
        status: `${base}/status/${encodeURIComponent(task.taskId)}`,
        outputs: (processing?.outputs ?? []).map(
          (o) => `${base}/outputs/${encodeURIComponent(task.taskId)}/${encodeURIComponent(o.name)}`,
        ),
      },
    };
  };

  const scan = (): void => {
    try {
      const cursor = repo.getCursor(CURSOR) ?? '';
      let newest = cursor;
      for (const task of options.listRecent(100)) {
        const at = task.completedAt;
        if (task.state !== 'received' || at === null || at < cursor) continue;
        notifier.publish(
          'upload.completed',
          `upload.completed:${task.taskId}:${at}`,
          withLinks(task),
          `received ${task.fileName} (${task.fileSize ?? '?'} bytes, sha256 ${task.sha256?.slice(0, 12) ?? '?'}…)`,
        );
        if (at > newest) newest = at;
      }
      if (newest !== cursor) repo.setCursor(CURSOR, newest);
    } catch (error) {
      logger.warn({ err: error }, 'received uploads could not be scanned for events');
    }
  };

  const onDone = ({ taskId }: { taskId: string }): void => processed(taskId, 'done');
  const onFailed = ({ taskId }: { taskId: string }): void => processed(taskId, 'failed');
  const processed = (taskId: string, outcome: 'done' | 'failed'): void => {
    const task = options.get(taskId);
    if (!task) return;
    scan(); // a fast job can finish before the next scan: announce the upload first
    try {
      const data = withLinks(task);
      const error = (data.processing as { error?: { code: string; message: string } } | undefined)?.error;
      notifier.publish(
        outcome === 'done' ? 'processing.done' : 'processing.failed',
        `processing.${outcome}:${taskId}:${Date.now()}`,
        data,
        outcome === 'done'
          ? `processing of ${task.fileName} is done`
          : `processing of ${task.fileName} failed (${error ? `${error.code}: ${error.message}` : 'unknown error'})`,
      );
    } catch (error) {
      logger.warn({ err: error, taskId }, 'processing event could not be queued');
    }
  };
  const emitter = isEmitter(options.processor) ? options.processor : undefined;
  emitter?.on('done', onDone);
  emitter?.on('failed', onFailed);
  scan();
  const timer = setInterval(scan, options.pollMs ?? 1000);
  timer.unref();
  return {
    close: () => {
      clearInterval(timer);
      emitter?.off('done', onDone);
      emitter?.off('failed', onFailed);
    },
  };
}

/** The ingest service as the notifier reads it (IngestService, structurally). */
export interface IngestServiceLike {
  tasks: { listRecent(limit: number): IngestTask[]; get(taskId: string): IngestTask | undefined };
  viewOf(task: IngestTask): Record<string, unknown>;
}

/**
 * Everything the ingest server needs for its events, in one call: a Notifier on its database
 * and the event source above. Undefined when no target is configured. `close()` stops both.
 */
export function startIngestNotifier(options: {
  db: Db;
  targets: NotifyTargets | undefined;
  service: IngestServiceLike;
  processor: unknown;
  baseUrl: () => string;
  logger: Logger;
}): { notifier: Notifier; close: () => Promise<void> } | undefined {
  if (!options.targets) return undefined;
  const { service, logger } = options;
  const notifier = new Notifier({ db: options.db, targets: options.targets, logger });
  if (!notifier.enabled) return undefined;
  const events = notifyIngestEvents({
    notifier,
    listRecent: (n) => service.tasks.listRecent(n),
    get: (id) => service.tasks.get(id),
    view: (task) => service.viewOf(task),
    processor: options.processor,
    baseUrl: options.baseUrl,
    logger,
  });
  notifier.start();
  return {
    notifier,
    close: async () => {
      events.close();
      await notifier.close();
    },
  };
}

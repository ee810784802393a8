import type { Logger } from '../logging/index.js';
import type { IngestTask, WebhookStore } from '../store/index.js';
import { Notifier, type NotifyTargets } from './notifier.js';

/** What the ingest side offers the event source (kept structural: src/ingest is not imported). */
export interface IngestEventSourceOptions {
  notifier: Notifier;
  /** Recent tasks, most recent first (IngestTaskRepository.listRecent). */
  listRecent: (limit: number) => Promise<IngestTask[]>;
  /** A task's public /status view (IngestService.viewOf). */
  view: (task: IngestTask) => Promise<Record<string, unknown>>;
  /** The task by id (IngestTaskRepository.get). */
  get: (taskId: string) => Promise<IngestTask | undefined>;
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
export function notifyIngestEvents(options: IngestEventSourceOptions): { close: () => Promise<void> } {
  const { notifier, logger } = options;
  const repo: WebhookStore = notifier.repository;
  // History is not news: the first scan starts from now.
  const ready = (async () => {
    if ((await repo.getCursor(CURSOR)) === undefined) await repo.setCursor(CURSOR, new Date().toISOString());
  })().catch((error: unknown) => logger.warn({ err: error }, 'the event cursor could not be set'));

  const withLinks = async (task: IngestTask): Promise<Record<string, unknown>> => {
    const base = options.baseUrl();
    const view = await options.view(task);
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

  // One scan at a time: two would read the same cursor and publish the same uploads twice.
  let scanning: Promise<void> = Promise.resolve();
  const scan = (): Promise<void> => (scanning = scanning.then(scanOnce));
  const scanOnce = async (): Promise<void> => {
    try {
      await ready;
      const cursor = (await repo.getCursor(CURSOR)) ?? '';
      let newest = cursor;
      for (const task of await options.listRecent(100)) {
        const at = task.completedAt;
        if (task.state !== 'received' || at === null || at < cursor) continue;
        await notifier.publish(
          'upload.completed',
          `upload.completed:${task.taskId}:${at}`,
          await withLinks(task),
          `received ${task.fileName} (${task.fileSize ?? '?'} bytes, sha256 ${task.sha256?.slice(0, 12) ?? '?'}…)`,
        );
        if (at > newest) newest = at;
      }
      if (newest !== cursor) await repo.setCursor(CURSOR, newest);
    } catch (error) {
      logger.warn({ err: error }, 'received uploads could not be scanned for events');
    }
  };

  const onDone = ({ taskId }: { taskId: string }): void => void processed(taskId, 'done');
  const onFailed = ({ taskId }: { taskId: string }): void => void processed(taskId, 'failed');
  const processed = async (taskId: string, outcome: 'done' | 'failed'): Promise<void> => {
    try {
      const task = await options.get(taskId);
      if (!task) return;
      await scan(); // a fast job can finish before the next scan: announce the upload first
      const data = await withLinks(task);
      const error = (data.processing as { error?: { code: string; message: string } } | undefined)?.error;
      await notifier.publish(
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
  void scan();
  const timer = setInterval(() => void scan(), options.pollMs ?? 1000);
  timer.unref();
  return {
    close: async () => {
      clearInterval(timer);
      emitter?.off('done', onDone);
      emitter?.off('failed', onFailed);
      await scanning;
    },
  };
}

/** The ingest service as the notifier reads it (IngestService, structurally). */
export interface IngestServiceLike {
  tasks: {
    listRecent(limit: number): Promise<IngestTask[]>;
    get(taskId: string): Promise<IngestTask | undefined>;
  };
  viewOf(task: IngestTask): Promise<Record<string, unknown>>;
}

/**
 * Everything the ingest server needs for its events, in one call: a Notifier on its database
 * and the event source above. Undefined when no target is configured. `close()` stops both.
 */
export function startIngestNotifier(options: {
  /** The ingest state's webhook queue. */
  store: WebhookStore;
  targets: NotifyTargets | undefined;
  service: IngestServiceLike;
  processor: unknown;
  baseUrl: () => string;
  logger: Logger;
}): { notifier: Notifier; close: () => Promise<void> } | undefined {
  if (!options.targets) return undefined;
  const { service, logger } = options;
  const notifier = new Notifier({ store: options.store, targets: options.targets, logger });
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
      await events.close();
      await notifier.close();
    },
  };
}

import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import type { IngestTask } from '../store/index.js';
import { assertOwner } from './auth-hook.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import { validateTaskId } from './upload-names.js';

/** The original server's word for each of our states, for its clients' `status` field. */
const ORIGINAL_STATUS: Record<string, string> = {
  receiving: 'uploading',
  received: 'uploaded',
  processing: 'processing',
  done: 'completed',
  failed: 'failed',
};

/**
 * One `/uploads` item: the original's fields (`task_id`, `filename`, `status`, `size`,
 * `upload_time`) beside our task view (`state`, `upload`, `processing`).
 */
function listItem(view: Record<string, unknown>, task: IngestTask): Record<string, unknown> {
  const state = typeof view.state === 'string' ? view.state : task.state;
  return {
    ...view,
    filename: task.fileName,
    status: ORIGINAL_STATUS[state] ?? state,
    size: task.fileSize ?? task.declaredSize,
    upload_time: task.uploadTime ?? task.completedAt ?? task.createdAt,
  };
}

/**
 * `GET /status/:task_id` and `GET /uploads?limit=N`: a JSON array, most recent first (1..100,
 * default 10), as the original's scripts expect (they take its `len`, slice it, and read
 * `filename` and `status`).
 */
export const statusRoutes: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  async function receivedBytes(task: IngestTask): Promise<number | undefined> {
    if (task.state !== 'receiving' || task.protocol !== 'tus') return undefined;
    return ctx.service.tusReceivedBytes(task.uploadRef);
  }

  app.get<{ Params: { task_id: string } }>('/status/:task_id', async (request) => {
    const taskId = validateTaskId(request.params.task_id);
    const task = await ctx.tasks.get(taskId);
    if (!task) throw new AppError('TASK_NOT_FOUND', `no task ${taskId}`);
    assertOwner(task, ctx.ownerOf(request.headers));
    return { success: true, ...(await ctx.service.viewOf(task, await receivedBytes(task))) };
  });

  app.get<{ Querystring: { limit?: string } }>('/uploads', async (request) => {
    const raw = request.query.limit;
    const limit = raw === undefined || raw === '' ? 10 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AppError('BAD_REQUEST', 'limit must be a whole number from 1 to 100');
    }
    // A key sees its own uploads (and those from before keys, which have no owner).
    const tasks = await ctx.tasks.listRecent(limit, ctx.ownerOf(request.headers));
    return Promise.all(
      tasks.map(async (t) => listItem(await ctx.service.viewOf(t, await receivedBytes(t)), t)),
    );
  });
};

import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import type { IngestTask } from '../store/index.js';
import { assertOwner } from './auth-hook.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import { validateTaskId } from './upload-names.js';

/** `GET /status/:task_id` and `GET /uploads?limit=N` (most recent first, 1..100, default 10). */
export const statusRoutes: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  async function receivedBytes(task: IngestTask): Promise<number | undefined> {
    if (task.state !== 'receiving' || task.protocol !== 'tus') return undefined;
    const file = path.join(ctx.service.paths.tusDir, task.uploadRef);
    return stat(file).then(
      (s) => s.size,
      () => undefined,
    );
  }

  app.get<{ Params: { task_id: string } }>('/status/:task_id', async (request) => {
    const taskId = validateTaskId(request.params.task_id);
    const task = ctx.tasks.get(taskId);
    if (!task) throw new AppError('TASK_NOT_FOUND', `no task ${taskId}`);
    assertOwner(task, ctx.ownerOf(request.headers));
    return { success: true, ...ctx.service.viewOf(task, await receivedBytes(task)) };
  });

  app.get<{ Querystring: { limit?: string } }>('/uploads', async (request) => {
    const raw = request.query.limit;
    const limit = raw === undefined || raw === '' ? 10 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new AppError('BAD_REQUEST', 'limit must be a whole number from 1 to 100');
    }
    // A key sees its own uploads (and those from before keys, which have no owner).
    const tasks = ctx.tasks.listRecent(limit, ctx.ownerOf(request.headers));
    const uploads = await Promise.all(tasks.map(async (t) => ctx.service.viewOf(t, await receivedBytes(t))));
    return { success: true, count: uploads.length, uploads };
  });
};

import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { AppError, errorBody } from '../errors/index.js';
import { assertOwner } from './auth-hook.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import { validateTaskId } from './upload-names.js';

// Output names are the pipeline's own (web.mp4, report.json, ...): no separators, no leading dot.
const OUTPUT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const CONTENT_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.json': 'application/json; charset=utf-8',
  '.vtt': 'text/vtt; charset=utf-8',
};

const taskParams = {
  type: 'object',
  properties: { task_id: { type: 'string' } },
  required: ['task_id'],
} as const;
const outputParams = {
  type: 'object',
  properties: { task_id: { type: 'string' }, name: { type: 'string' } },
  required: ['task_id', 'name'],
} as const;

/**
 * `POST /process/:task_id` runs (or reruns) the pipeline on a received upload; `GET
 * /outputs/:task_id/:name` serves one of its outputs, with byte ranges so a browser can seek in
 * the videos. Both sit behind the app's auth hook like every route but /health.
 */
export const processingRoutes: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  app.post<{ Params: { task_id: string } }>(
    '/process/:task_id',
    { schema: { params: taskParams } },
    async (request, reply) => {
      const taskId = validateTaskId(request.params.task_id);
      const task = await ctx.tasks.get(taskId);
      if (!task) throw new AppError('TASK_NOT_FOUND', `no task ${taskId}`);
      assertOwner(task, ctx.ownerOf(request.headers));
      if (!ctx.processor)
        throw new AppError('PROCESSING_UNAVAILABLE', 'this server does not process uploads');
      await ctx.service.requestProcessing(task);
      ctx.logger.info({ taskId }, 'processing requested');
      return reply.code(202).send({ success: true, task_id: taskId, state: 'queued' });
    },
  );

  app.get<{ Params: { task_id: string; name: string } }>(
    '/outputs/:task_id/:name',
    { schema: { params: outputParams } },
    async (request, reply) => {
      const taskId = validateTaskId(request.params.task_id);
      const { name } = request.params;
      const task = await ctx.tasks.get(taskId);
      if (!task) throw new AppError('TASK_NOT_FOUND', `no task ${taskId}`);
      assertOwner(task, ctx.ownerOf(request.headers));
      // Only names the pipeline listed for this task are served: nothing else in its folder leaks.
      const listed =
        OUTPUT_NAME.test(name) && (await ctx.processor?.status(taskId))?.outputs.some((o) => o.name === name);
      // fs: <data>/<task>/outputs/<name>; s3: the bucket (or this machine until published).
      const output = listed ? await ctx.service.storage.openOutput(taskId, name) : undefined;
      if (!output) throw new AppError('OUTPUT_NOT_FOUND', `task ${taskId} has no output "${name}"`);

      const size = output.size;
      void reply
        .header('content-type', CONTENT_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream')
        .header('accept-ranges', 'bytes')
        .header('cache-control', 'private, no-cache');
      const range = parseRange(request.headers.range, size);
      if (range === 'unsatisfiable') {
        return reply
          .code(416)
          .header('content-range', `bytes */${size}`)
          .send(errorBody(new AppError('BAD_REQUEST', 'the requested range is outside the file')));
      }
      if (range) {
        return reply
          .code(206)
          .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
          .header('content-length', range.end - range.start + 1)
          .send(await output.open(range));
      }
      return reply.header('content-length', size).send(await output.open());
    },
  );
};

/** One `bytes=` range (the only kind browsers send for media); undefined: the whole file. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined; // not one we understand: send it all
  let start: number;
  let end: number;
  if (match[1] === '') {
    // "bytes=-N": the last N bytes.
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}

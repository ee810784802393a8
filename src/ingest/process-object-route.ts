import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import { assertOwner } from './auth-hook.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import { looksLikeMedia, parseSha256, sanitizeFileName, validateTaskId } from './upload-names.js';

const bodySchema = {
  type: 'object',
  properties: {
    key: { type: 'string', minLength: 1, maxLength: 1024 },
    sha256: { type: 'string' },
    task_id: { type: 'string' },
    filename: { type: 'string' },
  },
  required: ['key', 'sha256'],
  additionalProperties: false,
} as const;

interface ProcessObjectBody {
  key: string;
  sha256: string;
  task_id?: string;
  filename?: string;
}

/** Folders under S3_PREFIX that are the server's own working space, never a recording. */
const WORKING_FOLDERS = new Set(['.tus', '.incoming', '.parts', '.scratch']);

/**
 * The part of `key` after S3_PREFIX, when it names a recording the server may process: under
 * the prefix, no empty, `.` or `..` segment, not in a working folder, not an output.
 */
function recordingPathOf(key: string, prefix: string): string {
  const outside = (): AppError =>
    new AppError(
      'OBJECT_KEY_OUTSIDE_PREFIX',
      `key ${JSON.stringify(key)} is not a recording under "${prefix}"`,
    );
  if (!key.startsWith(prefix)) throw outside();
  const segments = key.slice(prefix.length).split('/');
  // eslint-disable-next-line no-control-regex
  if (segments.some((s) => s === '' || s === '.' || s === '..' || /[\u0000-\u001f\\]/.test(s)))
    throw outside();
  if (WORKING_FOLDERS.has(segments[0] ?? '') || segments.at(-2) === 'outputs') throw outside();
  return segments.join('/');
}

/**
 * `POST /process-object {key, sha256, task_id?, filename?}` (behind the API key, INGEST_STORAGE=s3):
 * a recording the station put straight into the bucket. Its sha256 is checked twice — the
 * object's `x-amz-meta-sha256` (when it has one) and a full read — then it is registered as a
 * received task pointing at that object (not copied) and processed. Answers 202 like
 * `/process/:task_id`. The same key and digest again is idempotent (re-queued).
 */
export const processObjectRoute: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  app.post<{ Body: ProcessObjectBody }>(
    '/process-object',
    { schema: { body: bodySchema } },
    async (request, reply) => {
      const bucket = ctx.service.storage.bucket;
      if (!bucket) {
        throw new AppError(
          'PROCESSING_UNAVAILABLE',
          'this server keeps its files on disk (INGEST_STORAGE=fs): /process-object needs INGEST_STORAGE=s3',
        );
      }
      if (!ctx.processor)
        throw new AppError('PROCESSING_UNAVAILABLE', 'this server does not process uploads');
      const { key } = request.body;
      const sha256 = parseSha256(request.body.sha256);
      if (!sha256) throw new AppError('BAD_REQUEST', 'sha256 is required (64 hexadecimal digits)');
      const relPath = recordingPathOf(key, bucket.prefix);
      const taskId =
        request.body.task_id === undefined
          ? `object-${randomBytes(12).toString('hex')}`
          : validateTaskId(request.body.task_id);
      const fileName = sanitizeFileName(request.body.filename ?? path.posix.basename(key));
      if (!looksLikeMedia(fileName, undefined)) {
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${fileName} is not an audio or video file`);
      }
      const owner = ctx.ownerOf(request.headers);
      const existing = await ctx.tasks.get(taskId);
      if (existing) assertOwner(existing, owner);
      await ctx.service.assertNoConflict(taskId, { sha256 });

      const head = await bucket.head(key);
      if (!head) throw new AppError('OBJECT_NOT_FOUND', `no object ${JSON.stringify(key)} in the bucket`);
      const declared = head.metadata['sha256'];
      if (declared !== undefined && declared.toLowerCase() !== sha256) {
        throw new AppError(
          'CHECKSUM_MISMATCH',
          `the object's x-amz-meta-sha256 (${declared}) differs from the sha256 given (${sha256})`,
        );
      }
      const read = await bucket.sha256(key);
      if (read.sha256 !== sha256) {
        throw new AppError(
          'CHECKSUM_MISMATCH',
          `the object's bytes have sha256 ${read.sha256}, not ${sha256}; it was not processed`,
        );
      }
      if (read.size === 0) throw new AppError('EMPTY_FILE', 'the object is empty');

      if (existing?.state !== 'received') {
        await ctx.tasks.markReceived(
          {
            taskId,
            // Recorded like a multipart upload (the task store knows two protocols); its upload
            // ref names the object.
            protocol: 'multipart',
            uploadRef: `object:${key}`,
            fileName,
            sessionName: null,
            autoProcess: true,
            uploadTime: null,
            declaredSize: read.size,
            declaredSha256: sha256,
            ownerKeySha256: owner,
            partOf: null,
            partIndex: null,
            recordingId: null,
          },
          { fileName, fileSize: read.size, sha256, filePath: relPath },
        );
      }
      const task = await ctx.tasks.get(taskId);
      if (!task) throw new AppError('INTERNAL_ERROR', 'the task vanished while it was registered');
      await ctx.service.requestProcessing(task);
      ctx.logger.info({ taskId, key, sha256 }, 'object verified, processing requested');
      return reply.code(202).send({ success: true, task_id: taskId, state: 'queued', sha256 });
    },
  );
};

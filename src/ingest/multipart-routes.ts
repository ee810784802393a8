import { randomBytes } from 'node:crypto';
import multipart from '@fastify/multipart';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { AppError, isAppError } from '../errors/index.js';
import { assertOwner } from './auth-hook.js';
import type { RecordingFacts } from './recording-assembler.js';
import { partTaskId, segmentOf, type SegmentDeclaration } from './recording-parts.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import type { StagedRecording } from './storage/index.js';
import {
  looksLikeMedia,
  parseAutoProcess,
  parseSha256,
  parseUploadTime,
  sanitizeFileName,
  sanitizeSessionName,
  validateTaskId,
} from './upload-names.js';

/** Room for the multipart framing and text fields around the file in a request's Content-Length. */
const FORM_OVERHEAD_BYTES = 1024 * 1024;
const FIELDS = new Set([
  'task_id',
  'session_name',
  'auto_process',
  'upload_time',
  'sha256',
  // Parts of a segmented recording (see recording-parts.ts).
  'recording_id',
  'segment_index',
  'segment_count',
  'recording_file_name',
]);

interface ReceivedPart {
  staged: StagedRecording;
  fileName: string;
}

/** The task a form's file is stored under: its `task_id`, or `<T>.part-<i>` for a recording's part. */
function targetOf(
  fields: Record<string, string>,
  fileName: string,
): { taskId: string; segment: SegmentDeclaration | undefined } {
  const segment = segmentOf(fields, fileName);
  return { taskId: segment ? partTaskId(segment) : validateTaskId(fields.task_id), segment };
}

/**
 * What a failure while reading a form means for the client. Ours (AppError) and the plugin's
 * (with a 4xx status) stay as they are; a system error (a syscall failed: our own file writes)
 * is the server's; anything else came from the multipart parser (no boundary, garbage, a body
 * cut short), which is the request's fault: 400, so the client does not retry it as a 5xx.
 */
function clientErrorOfForm(error: unknown): unknown {
  if (isAppError(error) || typeof (error as { statusCode?: unknown }).statusCode === 'number') return error;
  if (typeof (error as NodeJS.ErrnoException).syscall === 'string') return error;
  const detail = error instanceof Error && error.message ? ` (${error.message})` : '';
  return new AppError('BAD_REQUEST', `the multipart/form-data body is malformed${detail}`, { cause: error });
}

/**
 * `POST /upload`: the original client's multipart form (part `file`, fields `task_id`,
 * `session_name`, `auto_process`, `upload_time`, optional `sha256`), streamed into the storage's
 * staging place (a temporary file, or a multipart upload in the bucket) while its sha256 is
 * computed, then completed by the service.
 */
export const multipartRoutes: FastifyPluginAsync<IngestRouteContext> = async (app, ctx) => {
  const { service } = ctx;
  await app.register(multipart, {
    limits: {
      fileSize: service.maxUploadBytes,
      files: 2,
      fields: 20,
      fieldSize: 64 * 1024,
      parts: 30,
      headerPairs: 50,
    },
    throwFileSizeLimit: true,
  });

  /** Refuses before reading the body when the declared length is too large or the disk too full. */
  async function checkDeclaredLength(request: FastifyRequest): Promise<void> {
    const header = request.headers['content-length'];
    const declared = header === undefined ? 0 : Number(header);
    if (!Number.isSafeInteger(declared) || declared < 0)
      throw new AppError('BAD_REQUEST', 'invalid Content-Length');
    service.assertSize(declared, FORM_OVERHEAD_BYTES);
    await service.assertRoom(declared);
  }

  app.post('/upload', { onRequest: checkDeclaredLength }, async (request, reply) => {
    if (!request.isMultipart()) {
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        'POST /upload expects multipart/form-data with a "file" part',
      );
    }
    const owner = ctx.ownerOf(request.headers);
    /** Only the key that created a task may upload to it again. */
    const checkOwner = async (taskId: string): Promise<void> => {
      const existing = await service.tasks.get(taskId);
      if (existing) assertOwner(existing, owner);
    };
    const fields: Record<string, string> = {};
    const factsOf = (f: Record<string, string>): RecordingFacts => ({
      protocol: 'multipart',
      sessionName: sanitizeSessionName(f.session_name),
      autoProcess: parseAutoProcess(f.auto_process),
      uploadTime: parseUploadTime(f.upload_time),
      ownerKeySha256: owner,
    });
    const uploadRef = `multipart-${randomBytes(12).toString('hex')}`;
    let received: ReceivedPart | undefined;
    let staged: StagedRecording | undefined;
    let receivingTaskId: string | undefined;
    try {
      for await (const part of request.parts()) {
        if (part.type === 'field') {
          if (FIELDS.has(part.fieldname) && typeof part.value === 'string')
            fields[part.fieldname] = part.value;
          continue;
        }
        if (part.fieldname !== 'file' || received) {
          throw new AppError('BAD_REQUEST', 'the form must carry exactly one file, in the part named "file"');
        }
        const fileName = sanitizeFileName(part.filename);
        if (!looksLikeMedia(fileName, part.mimetype)) {
          throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${fileName} is not an audio or video file`);
        }
        // The original client sends its fields before the file: check them before reading it.
        if (fields.task_id !== undefined) {
          const { taskId, segment } = targetOf(fields, fileName);
          await checkOwner(taskId);
          if (segment) {
            await checkOwner(segment.recordingTaskId);
            await service.recordings.open(segment, factsOf(fields));
          }
          await service.assertNoConflict(taskId, { sha256: parseSha256(fields.sha256) ?? null });
          if (
            await service.tasks.beginReceiving({
              taskId,
              protocol: 'multipart',
              uploadRef,
              fileName,
              sessionName: sanitizeSessionName(fields.session_name),
              autoProcess: parseAutoProcess(fields.auto_process),
              uploadTime: parseUploadTime(fields.upload_time),
              declaredSize: null,
              declaredSha256: parseSha256(fields.sha256) ?? null,
              ownerKeySha256: owner,
              partOf: segment?.recordingTaskId ?? null,
              partIndex: segment?.index ?? null,
              recordingId: segment?.recordingId ?? null,
            })
          ) {
            receivingTaskId = taskId;
          }
        }
        staged = await service.storage.stage(part.file, service.roomWatch());
        if (part.file.truncated)
          throw new AppError('PAYLOAD_TOO_LARGE', 'the file is larger than this server accepts');
        received = { staged, fileName };
      }
      if (!received) throw new AppError('BAD_REQUEST', 'the form has no "file" part');

      const { taskId, segment } = targetOf(fields, received.fileName);
      await checkOwner(taskId);
      if (segment) await checkOwner(segment.recordingTaskId);
      const result = await service.complete({
        staged: received.staged,
        size: received.staged.size,
        sha256: received.staged.sha256,
        taskId,
        fileName: received.fileName,
        sessionName: sanitizeSessionName(fields.session_name),
        autoProcess: parseAutoProcess(fields.auto_process),
        uploadTime: parseUploadTime(fields.upload_time),
        protocol: 'multipart',
        uploadRef,
        declaredSize: null,
        declaredSha256: parseSha256(fields.sha256) ?? null,
        ownerKeySha256: owner,
        segment,
      });
      receivingTaskId = undefined;
      const task = result.task;
      return reply.code(200).send({
        success: true,
        task_id: segment?.recordingTaskId ?? task.taskId,
        ...(segment ? { segment_index: segment.index } : {}),
        file_name: task.fileName,
        file_size: task.fileSize,
        sha256: task.sha256,
        message: result.created
          ? 'File uploaded successfully'
          : 'File already received with the same sha256; nothing was stored twice',
      });
    } catch (error) {
      await staged?.discard();
      if (receivingTaskId) await service.tasks.deleteReceiving(receivingTaskId, uploadRef);
      throw clientErrorOfForm(error);
    }
  });
};

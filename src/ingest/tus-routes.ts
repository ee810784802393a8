import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { EVENTS, Metadata, Server as TusServer, type Locker, type Upload } from '@tus/server';
import { AppError, errorBody, isAppError } from '../errors/index.js';
import { codeForStatus, lingerOnClose } from '../server-kit/index.js';
import { assertOwner } from './auth-hook.js';
import { CHUNK_CHECKSUM_ALGORITHMS, type ChunkChecksum } from './hashing-file-store.js';
import { partTaskId, segmentOf, type SegmentDeclaration } from './recording-parts.js';
import { TaskLock } from './task-lock.js';
import { webBodyOf } from './web-body.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import {
  looksLikeMedia,
  parseAutoProcess,
  parseSha256,
  parseUploadTime,
  sanitizeFileName,
  sanitizeSessionName,
  validateTaskId,
} from './upload-names.js';

/** The tus mount point. */
export const TUS_PATH = '/files';
/** Response header carrying the sha256 (hex) of a completed upload, on its final PATCH/POST and on HEAD. */
export const UPLOAD_SHA256_HEADER = 'Upload-Sha256';
/** Request header of a part's completing PATCH: the recording's part count (see `persistSegmentCount`). */
export const UPLOAD_SEGMENT_COUNT_HEADER = 'Upload-Segment-Count';

/**
 * How long a task may be receiving without its tus record before a sweep forgets it (see the
 * sweep); at most half the expiry, so that an expired upload's task still goes at the next sweep.
 */
const SWEEP_GRACE_MS = 60_000;

/** The metadata an upload declares, validated. */
interface TusDeclaration {
  /** The task the bytes are stored under: the upload's, or `<T>.part-<i>` for a recording's part. */
  taskId: string | undefined;
  /** Set for a part of a segmented recording. */
  segment: SegmentDeclaration | undefined;
  fileName: string;
  sessionName: string | null;
  autoProcess: boolean;
  uploadTime: string | null;
  sha256: string | undefined;
}

function parseMetadata(header: string | undefined): Record<string, string | null> {
  if (header === undefined || header.trim() === '') return {};
  try {
    return Metadata.parse(header);
  } catch {
    throw new AppError(
      'BAD_REQUEST',
      'Upload-Metadata is malformed (comma-separated "key base64value" pairs)',
    );
  }
}

function declarationOf(metadata: Record<string, string | null | undefined>): TusDeclaration {
  let taskId = metadata.task_id ? validateTaskId(metadata.task_id) : undefined;
  const fileName = sanitizeFileName(metadata.filename ?? metadata.name ?? undefined);
  if (!looksLikeMedia(fileName, metadata.filetype ?? metadata.content_type ?? undefined)) {
    throw new AppError('UNSUPPORTED_MEDIA_TYPE', `${fileName} is not an audio or video file`);
  }
  const segment = segmentOf(metadata, fileName);
  if (segment) taskId = partTaskId(segment);
  return {
    taskId,
    segment,
    fileName,
    sessionName: sanitizeSessionName(metadata.session_name),
    autoProcess: parseAutoProcess(metadata.auto_process ?? undefined),
    uploadTime: parseUploadTime(metadata.upload_time),
    sha256: parseSha256(metadata.sha256),
  };
}

function headerNumber(request: FastifyRequest, name: string): number | undefined {
  const value = request.headers[name];
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new AppError('BAD_REQUEST', `invalid ${name} header`);
  return n;
}

/** The `Upload-Checksum: <algorithm> <base64>` of a PATCH, validated; undefined when absent. */
function chunkChecksumOf(request: FastifyRequest): ChunkChecksum | undefined {
  const header = request.headers['upload-checksum'];
  if (header === undefined) return undefined;
  const match = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,2})\s*$/.exec(String(header));
  const algorithm = CHUNK_CHECKSUM_ALGORITHMS.find((a) => a === match?.[1]?.toLowerCase());
  if (!match?.[2] || !algorithm) {
    throw new AppError(
      'BAD_REQUEST',
      `Upload-Checksum must be "<algorithm> <base64 digest>" with one of ${CHUNK_CHECKSUM_ALGORITHMS.join(', ')}`,
    );
  }
  return { algorithm, digest: Buffer.from(match[2], 'base64') };
}

/** The upload id in a `/files/<id>` URL, or undefined for the collection itself. */
function uploadIdOf(url: string): string | undefined {
  const pathname = url.split('?')[0] ?? '';
  const rest = pathname.slice(TUS_PATH.length).replace(/^\/+/, '').replace(/\/+$/, '');
  return rest.length > 0 ? rest : undefined;
}

/**
 * tus 1.0 at `/files/` (creation, creation-with-upload, termination, expiration) on
 * @tus/server with a hashing file store under `<data-dir>/.tus/`. The checks that must happen
 * before a body is read (names, media type, size, free space, conflicts) run here; completion
 * verifies the sha256 and hands the file to the service, which moves it into its task folder.
 */
export const tusRoutes: FastifyPluginAsync<
  IngestRouteContext & { expirationMs: number; locker?: Locker | undefined }
> = async (app, ctx) => {
  const { service, tasks, logger } = ctx;

  // fs: the hashing file store under <data>/.tus/; s3: @tus/s3-store under <S3_PREFIX>.tus/.
  const store = service.tusStorage(ctx.expirationMs);

  const tus = new TusServer({
    path: TUS_PATH,
    datastore: store.datastore,
    ...(ctx.locker ? { locker: ctx.locker } : {}),
    relativeLocation: true,
    maxSize: service.maxUploadBytes,
    disableTerminationForFinishedUploads: true,
    exposedHeaders: [UPLOAD_SHA256_HEADER, 'Upload-Expires', 'Tus-Checksum-Algorithm'],
    allowedHeaders: ['Upload-Checksum', UPLOAD_SHA256_HEADER, UPLOAD_SEGMENT_COUNT_HEADER, 'X-API-Key'],
    namingFunction: () => randomBytes(16).toString('hex'),
    onUploadCreate: async (req, upload) => {
      const metadata = { ...(upload.metadata ?? {}) };
      // Creation-with-upload may declare the whole file's digest as a header too.
      const headerSha256 = parseSha256(req.headers.get(UPLOAD_SHA256_HEADER) ?? undefined);
      if (headerSha256) metadata.sha256 = headerSha256;
      const declaration = declarationOf(metadata);
      const taskId = declaration.taskId ?? upload.id;
      // A part keeps naming its recording's task; the part's own id is derived again from it.
      metadata.task_id = declaration.segment?.recordingTaskId ?? taskId;
      const owner = ctx.ownerOf(req.headers);
      if (declaration.segment) {
        await service.recordings.open(declaration.segment, {
          protocol: 'tus',
          sessionName: declaration.sessionName,
          autoProcess: declaration.autoProcess,
          uploadTime: declaration.uploadTime,
          ownerKeySha256: owner,
        });
      }
      await tasks.beginReceiving({
        taskId,
        protocol: 'tus',
        uploadRef: upload.id,
        fileName: declaration.fileName,
        sessionName: declaration.sessionName,
        autoProcess: declaration.autoProcess,
        uploadTime: declaration.uploadTime,
        declaredSize: upload.size ?? null,
        declaredSha256: declaration.sha256 ?? null,
        ownerKeySha256: owner,
        partOf: declaration.segment?.recordingTaskId ?? null,
        partIndex: declaration.segment?.index ?? null,
        recordingId: declaration.segment?.recordingId ?? null,
      });
      return { metadata };
    },
    onUploadFinish: async (_req, upload) => finish(upload),
    onResponseError: (_req, error) => {
      if (isAppError(error)) return { status_code: error.httpStatus, body: JSON.stringify(errorBody(error)) };
      const tusError = error as { status_code?: number; body?: string };
      const status = tusError.status_code ?? 500;
      if (status >= 500) logger.error({ err: error }, 'tus request failed');
      const message = status >= 500 ? 'Internal error' : (tusError.body ?? 'Bad request').trim();
      return {
        status_code: status,
        body: JSON.stringify(errorBody(new AppError(codeForStatus(status), message))),
      };
    },
  });

  tus.on(EVENTS.POST_TERMINATE, (_req, _res, id) => {
    void (async () => {
      const task = await tasks.getByUploadRef(id);
      if (task) await tasks.deleteReceiving(task.taskId, id);
    })().catch((error: unknown) =>
      logger.warn({ err: error, uploadId: id }, 'could not forget a terminated upload'),
    );
  });

  // A repeated final PATCH may arrive while the first one is still completing: one at a time.
  const finishing = new TaskLock();
  function finish(upload: Upload): Promise<{ headers: Record<string, string> }> {
    return finishing.run(upload.id, () => finishOnce(upload));
  }

  async function finishOnce(upload: Upload): Promise<{ headers: Record<string, string> }> {
    const done = await tasks.getByUploadRef(upload.id);
    if (done?.state === 'received' && done.sha256)
      return { headers: { [UPLOAD_SHA256_HEADER]: done.sha256 } };
    const size = upload.size ?? upload.offset;
    const metadata = upload.metadata ?? {};
    const declaration = declarationOf(metadata);
    try {
      const sha256 = await store.digest(upload.id, size);
      const { task } = await service.complete({
        staged: store.staged(upload.id, size, sha256),
        size,
        sha256,
        taskId: declaration.taskId ?? upload.id,
        fileName: declaration.fileName,
        sessionName: declaration.sessionName,
        autoProcess: declaration.autoProcess,
        uploadTime: declaration.uploadTime,
        protocol: 'tus',
        uploadRef: upload.id,
        declaredSize: upload.size ?? null,
        declaredSha256: declaration.sha256 ?? null,
        ownerKeySha256: done?.ownerKeySha256 ?? null,
        segment: declaration.segment,
      });
      return { headers: { [UPLOAD_SHA256_HEADER]: task.sha256 ?? sha256 } };
    } finally {
      // The bytes were moved into the task folder, or discarded: the tus record goes either way.
      await store.forget(upload.id);
    }
  }

  /** Checks that must refuse a creation before its body (if any) is read. */
  async function checkCreation(request: FastifyRequest): Promise<void> {
    const declaration = declarationOf(
      parseMetadata(request.headers['upload-metadata'] as string | undefined),
    );
    const length = headerNumber(request, 'upload-length');
    if (length !== undefined) {
      if (length === 0) throw new AppError('EMPTY_FILE', 'Upload-Length is 0: there is nothing to upload');
      service.assertSize(length);
      await service.assertRoom(length);
    } else {
      await service.assertRoom(headerNumber(request, 'content-length') ?? 0);
    }
    if (declaration.taskId) {
      const owner = ctx.ownerOf(request.headers);
      const existing = await tasks.get(declaration.taskId);
      if (existing) assertOwner(existing, owner);
      const recording = declaration.segment
        ? await tasks.get(declaration.segment.recordingTaskId)
        : undefined;
      if (recording) assertOwner(recording, owner);
      await service.assertNoConflict(declaration.taskId, {
        size: length ?? null,
        sha256: declaration.sha256 ?? null,
      });
    }
  }

  /**
   * One-pass uploads: a PATCH may carry `Upload-Sha256: <hex>`, the whole file's digest the
   * client computed while sending. It is stored with the upload (its tus record and its task)
   * BEFORE any of this PATCH's bytes are written, so that completion — now, or at the next
   * start-up if the server dies after the last byte — compares with it.
   */
  async function persistDeclaredSha256(request: FastifyRequest, id: string): Promise<void> {
    const header = request.headers[UPLOAD_SHA256_HEADER.toLowerCase()];
    if (header === undefined) return;
    const sha256 = parseSha256(String(header));
    if (sha256 === undefined) return;
    // An unknown upload: @tus/server answers 404 itself.
    if (!(await store.declareSha256(id, sha256))) return;
    const task = await tasks.getByUploadRef(id);
    if (task?.state === 'receiving') await tasks.declareSha256(task.taskId, id, sha256);
  }

  /**
   * A part streamed while the recording wrote it was created before anyone knew it would be
   * the last: its completing PATCH may carry `Upload-Segment-Count: <n>`, the recording's part
   * count, which is recorded (as `segment_count` at creation would be) BEFORE this PATCH's
   * bytes are written, so that completing the part finds the count and joins the recording.
   */
  async function persistSegmentCount(request: FastifyRequest, id: string): Promise<void> {
    const header = request.headers[UPLOAD_SEGMENT_COUNT_HEADER.toLowerCase()];
    if (header === undefined) return;
    const count = Number(String(header).trim());
    if (!/^\d+$/.test(String(header).trim()) || !Number.isSafeInteger(count) || count < 1) {
      throw new AppError('BAD_REQUEST', `${UPLOAD_SEGMENT_COUNT_HEADER} is a whole number from 1`);
    }
    const upload = await store.datastore.getUpload(id).catch(() => undefined);
    if (!upload) return; // @tus/server answers 404 itself
    const declaration = declarationOf(upload.metadata ?? {});
    const segment = declaration.segment;
    if (!segment) {
      throw new AppError('BAD_REQUEST', `${UPLOAD_SEGMENT_COUNT_HEADER} is only for a recording's part`);
    }
    if (segment.index >= count) {
      throw new AppError('BAD_REQUEST', `segment_index ${segment.index} is not below segment_count ${count}`);
    }
    const task = await tasks.getByUploadRef(id);
    await service.recordings.open(
      { ...segment, count },
      {
        protocol: 'tus',
        sessionName: declaration.sessionName,
        autoProcess: declaration.autoProcess,
        uploadTime: declaration.uploadTime,
        ownerKeySha256: task?.ownerKeySha256 ?? null,
      },
    );
  }

  async function bridge(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const method = request.method;
    const id = uploadIdOf(request.url);
    if (method !== 'OPTIONS' && request.headers['tus-resumable'] === undefined) {
      throw new AppError('TUS_VERSION_REQUIRED', 'the Tus-Resumable: 1.0.0 header is required');
    }
    if (method === 'POST' && id === undefined) await checkCreation(request);
    if (id !== undefined && method !== 'OPTIONS') {
      // Only the key that created an upload may look at, write or delete it.
      const task = await tasks.getByUploadRef(id);
      if (task) assertOwner(task, ctx.ownerOf(request.headers));
    }
    if (method === 'PATCH') {
      // tus 1.0: "All PATCH requests MUST use Content-Type: application/offset+octet-stream,
      // otherwise the server SHOULD return a 415 Unsupported Media Type status."
      const type = String(request.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (type !== 'application/offset+octet-stream') {
        throw new AppError(
          'UNSUPPORTED_MEDIA_TYPE',
          'a tus PATCH must send Content-Type: application/offset+octet-stream',
        );
      }
      await service.assertRoom(headerNumber(request, 'content-length') ?? 0);
    }
    if (method === 'PATCH' && id !== undefined) {
      await persistDeclaredSha256(request, id);
      await persistSegmentCount(request, id);
    }
    // Without the checksum extension (s3) the header is ignored, as tus 1.0 says.
    const checksum =
      method === 'PATCH' && id !== undefined && store.chunkChecksums ? chunkChecksumOf(request) : undefined;
    if (checksum && id !== undefined) store.expectChecksum(id, checksum);

    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value !== undefined) headers.set(name, String(value));
    }
    const hasBody = method === 'POST' || method === 'PATCH';
    const webRequest = new Request(new URL(request.url, 'http://ingest.invalid'), {
      method,
      headers,
      body: hasBody ? webBodyOf(request.raw) : null,
      ...(hasBody ? { duplex: 'half' } : {}),
    } as RequestInit);
    let response: Response;
    try {
      response = await tus.handleWeb(webRequest);
    } finally {
      if (checksum && id !== undefined) store.clearChecksum(id);
    }

    const out: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      // @tus/server answers CORS for any origin ("*"); the cross-origin policy decides instead.
      if (!name.startsWith('access-control-')) out[name] = value;
    });
    if (method === 'OPTIONS' && store.chunkChecksums)
      out['tus-checksum-algorithm'] = CHUNK_CHECKSUM_ALGORITHMS.join(',');
    if (method === 'HEAD' && id !== undefined && response.ok) {
      const task = await tasks.getByUploadRef(id);
      if (task?.state === 'received' && task.sha256) out[UPLOAD_SHA256_HEADER.toLowerCase()] = task.sha256;
      else if (out['upload-offset'] !== undefined && out['upload-offset'] === out['upload-length']) {
        // Every byte is here but completion has not run (or is running): finish it, so the client
        // reads the digest from this HEAD instead of waiting for one.
        const { headers: done } = await finish(await store.datastore.getUpload(id));
        out[UPLOAD_SHA256_HEADER.toLowerCase()] = done[UPLOAD_SHA256_HEADER] ?? '';
      }
    }
    let body = response.body ? await response.text() : '';
    if (response.status >= 400 && !body.startsWith('{')) {
      // Some of @tus/server's header checks answer plain text without passing onResponseError.
      const message = response.status >= 500 ? 'Internal error' : body.trim() || 'Bad request';
      body = JSON.stringify(errorBody(new AppError(codeForStatus(response.status), message)));
    }
    // Node and Fastify manage the connection and the length; the content type only matters for a body.
    delete out.connection;
    delete out['content-length'];
    delete out['content-type'];
    if (body.startsWith('{')) out['content-type'] = 'application/json; charset=utf-8';
    else if (body.length > 0) out['content-type'] = 'text/plain; charset=utf-8';
    if (response.status >= 400 && !request.raw.complete) {
      out.connection = 'close';
      lingerOnClose(request.raw.socket);
    }
    await reply.code(response.status).headers(out).send(body);
  }

  // tus bodies are raw bytes that @tus/server reads itself: no parser may touch them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  const methods = ['POST', 'HEAD', 'PATCH', 'DELETE', 'OPTIONS'] as const;
  app.route({ method: [...methods], url: TUS_PATH, handler: bridge });
  app.route({ method: [...methods], url: `${TUS_PATH}/*`, handler: bridge });

  // Start-up, before any request: records left by a crash between moving an upload out of the
  // store and forgetting it. A received one answers HEAD from its task; any other is gone.
  try {
    for (const id of await store.orphanRecords()) {
      const task = await tasks.getByUploadRef(id);
      if (task?.state === 'receiving') await tasks.deleteReceiving(task.taskId, id);
      await store.forget(id);
    }
  } catch (error) {
    logger.warn({ err: error }, 'could not clear orphaned tus records');
  }
  await completeFullUploads();

  /**
   * Start-up, before any request: a server killed after the last byte of an upload but before
   * completing it left the whole file in the store. Complete it now (verified against the
   * declared sha256 when there is one, discarded when it differs), so that the client's HEAD
   * finds offset = length with `Upload-Sha256` instead of an upload that never completes.
   */
  async function completeFullUploads(): Promise<void> {
    for (const upload of await store.fullUploads().catch(() => [] as Upload[])) {
      try {
        const { headers } = await finish(upload);
        logger.info(
          { uploadId: upload.id, sha256: headers[UPLOAD_SHA256_HEADER] },
          'full tus upload completed at start-up',
        );
      } catch (error) {
        // A mismatch was discarded by completion itself (bytes and record are gone).
        const discarded = isAppError(error) && error.code === 'CHECKSUM_MISMATCH';
        logger.warn(
          { err: error, uploadId: upload.id },
          discarded
            ? 'full tus upload discarded at start-up: its sha256 differs'
            : 'could not complete a full tus upload at start-up',
        );
      }
    }
  }

  const sweepEvery = Math.max(1000, Math.min(ctx.expirationMs / 2, 15 * 60 * 1000));
  let closed = false;
  let running: Promise<void> | undefined;
  const sweep = async (): Promise<void> => {
    if (closed) return;
    try {
      const removed = await tus.cleanUpExpiredUploads();
      // A task begun just now may not have its tus record yet: creation writes the task row
      // (onUploadCreate) before the store writes the record. Forgetting it here would leave
      // its upload without a task; a later sweep forgets it if the record never comes.
      const begunBefore = Date.now() - Math.min(SWEEP_GRACE_MS, ctx.expirationMs / 2);
      for (const task of await tasks.listReceiving('tus')) {
        if (Date.parse(task.updatedAt) > begunBefore) continue;
        const stillThere = await store.exists(task.uploadRef);
        if (!stillThere) await tasks.deleteReceiving(task.taskId, task.uploadRef);
      }
      if (removed > 0) logger.info({ removed }, 'expired tus uploads removed');
    } catch (error) {
      // A sweep cut short by close() (the database closes under it) is not a failure.
      if (!closed) logger.warn({ err: error }, 'tus expiry sweep failed');
    }
  };
  const runSweep = (): void => {
    running ??= sweep().finally(() => (running = undefined));
  };
  // Sweeps start once the server listens: a listen that fails (port in use) runs none.
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onListen', async () => {
    timer = setInterval(runSweep, sweepEvery);
    timer.unref();
    runSweep();
  });
  app.addHook('onClose', async () => {
    closed = true;
    clearInterval(timer);
    await running;
  });
};

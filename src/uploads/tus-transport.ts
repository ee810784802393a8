import type { Hash } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { hashRange, sha256File } from './file-checks.js';
import { bodyBuffers, fileBody } from './file-body.js';
import { originalUploadTime } from './multipart-transport.js';
import { errorFromAnswer, type HttpAnswer, type UploadHttpClient } from './http-client.js';
import { PrefixDigest } from './prefix-digest.js';
import { fetchRemoteStatus } from './server-api.js';
import type { RateLimiter } from './rate-limiter.js';
import { StallWatchdog } from './stall-watchdog.js';
import {
  partFields,
  statusIdOf,
  type Transport,
  type TransportJob,
  type TransportResult,
} from './transport.js';

const TUS_VERSION = '1.0.0';

/** Where the server stands with an upload (HEAD). */
export interface ServerOffset {
  offset: number;
  /** The server's digest once complete (our `Upload-Sha256`). */
  sha256: string | undefined;
  /** Created without a length (deferred); the completing PATCH must declare it. */
  deferred: boolean;
}

/** What creating an upload declares (a job's names and flags). */
export type CreateJob = Pick<
  TransportJob,
  'fileName' | 'taskId' | 'sessionName' | 'autoProcess' | 'sha256' | 'part' | 'recordingId' | 'signal'
>;

/** tus Upload-Metadata: comma-separated "key base64(value)" pairs. */
export function tusMetadata(pairs: Record<string, string | null>): string {
  return Object.entries(pairs)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([key, value]) => `${key} ${Buffer.from(value, 'utf8').toString('base64')}`)
    .join(',');
}

/** The digest the server reported on a completing PATCH (`Upload-Sha256`), lower-cased; else null. */
export function answeredSha256(answer: HttpAnswer): string | null {
  const digest = answer.headers['upload-sha256'];
  return digest ? digest.toLowerCase() : null;
}

/**
 * The whole file's digest for a completing PATCH: `hash` (the prefix up to `start`) copied and
 * fed bytes [start, end) from disk, ahead of sending them (headers precede the body).
 */
export async function digestThrough(
  hash: Hash,
  filePath: string,
  start: number,
  end: number,
  signal: AbortSignal,
): Promise<string> {
  const whole = hash.copy();
  await hashRange(filePath, whole, start, end, signal);
  return whole.digest('hex');
}

/**
 * The bytes of a completing PATCH at most: its digest must be in its headers, so its bytes are
 * read twice (hashed ahead, then sent). A file's last full chunk (64 MiB by default) hashed
 * ahead cost ~50 ms per upload; split off, only this tail is read twice, for one more PATCH.
 */
export const COMPLETING_PATCH_BYTES = 1024 * 1024;

/**
 * Where the PATCH starting at `current` ends, of a file of `size` bytes: one chunk on, and the
 * chunk that would reach the end stops short of it by COMPLETING_PATCH_BYTES, which the
 * completing PATCH carries alone.
 */
export function patchEnd(current: number, size: number, chunkSizeBytes: number): number {
  const end = Math.min(size, current + chunkSizeBytes);
  if (end < size || size - current <= COMPLETING_PATCH_BYTES) return end;
  return size - COMPLETING_PATCH_BYTES;
}

function offsetOf(header: string | undefined): number | undefined {
  if (header === undefined || !/^\d+$/.test(header.trim())) return undefined;
  const n = Number(header.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A small tus 1.0 client on undici (core + creation + termination). Chosen over tus-js-client
 * because the resume URL must live in our task store (tus-js-client's Node default keeps none),
 * each PATCH must stream a file range at the shared rate with a stall watchdog, and memory must
 * stay flat on huge files (tus-js-client#363). Each PATCH carries at most one chunk, so a
 * crash re-sends at most one chunk.
 */
export class TusTransport implements Transport {
  readonly protocol = 'tus' as const;

  constructor(
    private readonly http: UploadHttpClient,
    private readonly options: {
      endpoint: string;
      chunkSizeBytes: number;
      stallTimeoutMs: number;
      requestTimeoutMs: number;
      limiter: RateLimiter | undefined;
    },
  ) {}

  async upload(job: TransportJob): Promise<TransportResult> {
    let url = job.remoteUrl;
    let offset = 0;
    // An upload created while its file was still being written (the open part of a recording,
    // streamed as it grew) has no length yet: the completing PATCH declares it.
    let deferred = false;
    if (url !== null) {
      const where = await this.serverOffset(url, job, job.size);
      deferred = where?.deferred === true;
      if (where === undefined) {
        url = null;
        job.onRemoteUrl(null);
      } else if (where.offset === job.size && !deferred) {
        // The server holds every byte (we were cut off after the last PATCH, or it restarted
        // then): its digest is on the HEAD, or in its /status, to compare now (not to wait for).
        job.onConfirmed(job.size);
        const digest =
          where.sha256 ??
          (await fetchRemoteStatus(this.http, statusIdOf(job), job.signal).catch(() => undefined))?.sha256;
        return { sha256: await sha256File(job.filePath, job.signal), serverSha256: digest ?? null };
      } else offset = where.offset;
    }
    if (url === null) {
      // The server may already hold it all (a crash after the last PATCH, before we recorded it):
      // its /status then says so, and sending it again would only be refused or duplicated.
      const known =
        job.part?.resend === true
          ? undefined
          : await fetchRemoteStatus(this.http, statusIdOf(job), job.signal).catch(() => undefined);
      if (known?.sha256 !== undefined && known.state !== 'receiving' && known.state !== 'failed') {
        job.onConfirmed(job.size);
        return { sha256: await sha256File(job.filePath, job.signal), serverSha256: known.sha256 };
      }
      url = await this.create(job, job.size);
      job.onRemoteUrl(url);
      offset = 0;
    }
    let current = offset;
    job.onConfirmed(current);
    const prefix = new PrefixDigest(job.filePath, job.signal);
    await prefix.moveTo(current);
    let conflicts = 0;
    const buffers = bodyBuffers();
    // A deferred upload holding every byte still needs its completing PATCH (empty).
    while (current < job.size || (deferred && current === job.size)) {
      const end = patchEnd(current, job.size, this.options.chunkSizeBytes);
      const chunk = prefix.fork();
      // The completing PATCH declares the whole file's digest (CONTRACTS.md): the server checks
      // it before the upload counts as complete. Headers precede the body, so its bytes are
      // hashed once ahead (at most COMPLETING_PATCH_BYTES read twice; the rest is read once).
      let declared: string | undefined;
      if (end === job.size) {
        await job.beforeComplete?.();
        declared = await digestThrough(chunk, job.filePath, current, end, job.signal);
      }
      const answer = await this.patch(
        url,
        job,
        { start: current, end, last: end === job.size },
        buffers,
        chunk,
        {
          sha256: declared,
          length: deferred && end === job.size ? job.size : undefined,
          // A part created before the count was known (sent while it was written) learns it here.
          segmentCount: deferred && end === job.size ? (job.part?.count ?? null) : null,
        },
      );
      if (answer.status === 204 || answer.status === 200) {
        current = await this.offsetAfterPatch(answer, { start: current, end }, job.size, prefix, chunk, job);
        conflicts = 0;
        if (current === job.size) return { sha256: prefix.digest(), serverSha256: answeredSha256(answer) };
        continue;
      }
      if (answer.status === 409 && conflicts < 3) {
        conflicts += 1;
        current = await this.offsetAfterConflict(url, job, job.size, prefix);
        continue;
      }
      throw this.refusal(answer, job);
    }
    return { sha256: prefix.digest(), serverSha256: null };
  }

  /**
   * A PATCH the server took (204): its new offset — never behind the chunk's start, never past
   * `max` — with the prefix digest moved there (the chunk's own hash adopted when all of it
   * landed) and reported.
   */
  async offsetAfterPatch(
    answer: HttpAnswer,
    range: { start: number; end: number },
    max: number,
    prefix: PrefixDigest,
    chunk: Hash,
    job: Pick<TransportJob, 'onConfirmed'>,
  ): Promise<number> {
    const next = offsetOf(answer.headers['upload-offset']);
    if (next === undefined || next < range.start || next > max) {
      throw new AppError('SERVER_ERROR', 'tus PATCH: the server answered a bad Upload-Offset');
    }
    if (next === range.end) prefix.adopt(chunk, range.end);
    else await prefix.moveTo(next);
    job.onConfirmed(next);
    return next;
  }

  /**
   * A PATCH answered 409 (offset mismatch, e.g. a PATCH the server half-received): where the
   * server stands now, with the prefix digest moved there and reported.
   */
  async offsetAfterConflict(
    url: string,
    job: Pick<TransportJob, 'signal' | 'onConfirmed'>,
    size: number | undefined,
    prefix: PrefixDigest,
  ): Promise<number> {
    const where = await this.serverOffset(url, job, size);
    if (where === undefined) throw new AppError('SERVER_ERROR', 'tus: the upload vanished on the server');
    await prefix.moveTo(where.offset);
    job.onConfirmed(where.offset);
    return where.offset;
  }

  /** The error for a PATCH the server refused; an upload it no longer holds is forgotten here. */
  refusal(answer: HttpAnswer, job: Pick<TransportJob, 'onRemoteUrl'>): AppError {
    if (answer.status === 404 || answer.status === 410) {
      // Expired or removed on the server: start over on the next attempt.
      job.onRemoteUrl(null);
      return new AppError('SERVER_ERROR', 'tus: the server no longer holds this upload; starting it again');
    }
    return errorFromAnswer(answer, 'upload');
  }

  async terminate(remoteUrl: string): Promise<void> {
    try {
      await this.http.short('DELETE', remoteUrl, {
        headers: { 'tus-resumable': TUS_VERSION },
        what: 'tus terminate',
      });
    } catch {
      // Best effort: the server expires unfinished uploads anyway.
    }
  }

  /**
   * The server's offset for an upload (and its digest once complete), or undefined when it no
   * longer has it (or it differs).
   */
  async serverOffset(
    url: string,
    job: Pick<TransportJob, 'signal'>,
    size: number | undefined,
  ): Promise<ServerOffset | undefined> {
    const answer = await this.http.short('HEAD', url, {
      headers: { 'tus-resumable': TUS_VERSION },
      signal: job.signal,
      what: 'tus resume',
    });
    if (answer.status === 404 || answer.status === 410 || answer.status === 403) return undefined;
    if (answer.status !== 200 && answer.status !== 204) throw errorFromAnswer(answer, 'tus resume');
    const offset = offsetOf(answer.headers['upload-offset']);
    const length = offsetOf(answer.headers['upload-length']);
    if (offset === undefined) return undefined;
    if (size !== undefined && ((length !== undefined && length !== size) || offset > size)) return undefined;
    const digest = answer.headers['upload-sha256']?.trim().toLowerCase();
    return {
      offset,
      sha256: digest && /^[0-9a-f]{64}$/.test(digest) ? digest : undefined,
      deferred: length === undefined,
    };
  }

  /** Creates the upload; `size` undefined: of deferred length (a file still being written). */
  async create(job: CreateJob, size: number | undefined): Promise<string> {
    const answer = await this.http.short('POST', this.options.endpoint, {
      headers: {
        'tus-resumable': TUS_VERSION,
        ...(size === undefined ? { 'upload-defer-length': '1' } : { 'upload-length': String(size) }),
        'upload-metadata': tusMetadata({
          filename: job.fileName,
          task_id: job.taskId,
          session_name: job.sessionName,
          auto_process: job.autoProcess ? 'true' : 'false',
          sha256: job.sha256,
          upload_time: originalUploadTime(new Date()),
          ...partFields(job),
        }),
        'content-length': '0',
      },
      signal: job.signal,
      what: 'tus create',
    });
    const location = answer.headers['location'];
    if (answer.status !== 201 || !location) {
      if (answer.status === 201) throw new AppError('SERVER_ERROR', 'tus create: no Location in the answer');
      throw errorFromAnswer(answer, 'upload');
    }
    return this.http.resolve(location);
  }

  /**
   * One PATCH of bytes [start, end) of the file. The completing one (`last`) may take longer to
   * answer, declares the whole file's digest, and its length when the upload was created
   * deferred (`declareLength`).
   */
  async patch(
    url: string,
    job: Pick<TransportJob, 'filePath' | 'signal' | 'onBytes'>,
    range: { start: number; end: number; last: boolean },
    buffers: Buffer[],
    hash: Hash,
    declare: { sha256?: string | undefined; length?: number | undefined; segmentCount?: number | null } = {},
  ) {
    const { start, end } = range;
    const controller = new AbortController();
    const forward = (): void => controller.abort(job.signal.reason);
    if (job.signal.aborted) forward();
    job.signal.addEventListener('abort', forward, { once: true });
    // Socket buffers can swallow the rest of a chunk the server no longer reads, so silence
    // after a middle chunk is a stall too; only the last one may take longer (the server
    // verifies and stores the whole file before it answers).
    const answerMs = !range.last
      ? this.options.stallTimeoutMs
      : Math.max(this.options.stallTimeoutMs, this.options.requestTimeoutMs);
    const watchdog = new StallWatchdog(controller, this.options.stallTimeoutMs, answerMs);
    const limiter = this.options.limiter;
    try {
      return await this.http.send('PATCH', url, {
        headers: {
          'tus-resumable': TUS_VERSION,
          'upload-offset': String(start),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(end - start),
          ...(declare.sha256 !== undefined ? { 'upload-sha256': declare.sha256 } : {}),
          ...(declare.length !== undefined ? { 'upload-length': String(declare.length) } : {}),
          // Our ingest server's header (CONTRACTS.md): the count of a part created before it was known.
          ...(declare.segmentCount != null ? { 'upload-segment-count': String(declare.segmentCount) } : {}),
        },
        body: (async function* () {
          yield* fileBody(job.filePath, start, end, {
            buffers,
            limiter,
            signal: controller.signal,
            onBytes: job.onBytes,
            onPull: () => watchdog.touch(),
            hash,
          });
          watchdog.bodyDone();
        })(),
        signal: controller.signal,
        what: 'upload',
      });
    } finally {
      watchdog.stop();
      job.signal.removeEventListener('abort', forward);
    }
  }
}

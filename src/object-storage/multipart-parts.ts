import { Readable } from 'node:stream';
import { UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { AppError } from '../errors/index.js';
import type { MultipartJournal } from './multipart-journal.js';
import { normalizeEtag, partRange, type PartPlan } from './multipart-etag.js';
import type { MultipartUploaderOptions, MultipartUploadJob } from './multipart-types.js';
import { s3Error, s3ErrorCode } from './s3-errors.js';

/** BadDigest: the bytes the bucket received are not those we hashed; sent again this often. */
const CORRUPT_PART_TRIES = 3;
const RING = 8;
const PIECE = 256 * 1024;

/** A controller aborted with `parent`; `unlink` stops listening once the child is done. */
export function linked(parent: AbortSignal): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  const forward = (): void => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', forward) };
}

/** One upload's parts as the sender needs them: where they go and each one's MD5. */
export interface PartsToSend {
  uploadId: string;
  plan: PartPlan;
  /** MD5 (hex) of each part, part 1 first (from the upload's one hash pass). */
  partMd5s: readonly string[];
}

/**
 * Sends the parts of a multipart upload that the journal lacks, `concurrency` at a time, each
 * streamed from the file through a ring of 256 KiB buffers (memory flat whatever the size),
 * with Content-MD5, at the shared rate limit, under a stall watchdog; each confirmed part is
 * journaled at once. The uploader's part in ResumableMultipartUploader.
 */
export class PartSender {
  constructor(
    private readonly client: S3Client,
    private readonly journal: MultipartJournal,
    private readonly options: MultipartUploaderOptions,
  ) {}

  /** Sends every part the journal lacks; answers the part requests made. */
  async sendMissing(job: MultipartUploadJob, parts: PartsToSend): Promise<number> {
    const { plan } = parts;
    const journaled = (): { count: number; bytes: number } => {
      const list = this.journal.find(job.taskId)?.parts ?? [];
      return { count: list.length, bytes: list.reduce((sum, p) => sum + p.size, 0) };
    };
    const confirm = (): void => {
      const now = journaled();
      job.onConfirmed(now.bytes);
      job.onParts?.(now.count, plan.count);
    };
    const have = new Set((this.journal.find(job.taskId)?.parts ?? []).map((p) => p.partNumber));
    confirm();
    const queue: number[] = [];
    for (let n = 1; n <= plan.count; n += 1) if (!have.has(n)) queue.push(n);
    const group = linked(job.signal);
    let sent = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      // Reused for every part this worker sends.
      const ring = Array.from({ length: RING }, () => Buffer.allocUnsafe(PIECE));
      for (let n = queue.shift(); n !== undefined && failure === undefined; n = queue.shift()) {
        try {
          sent += await this.sendPart(job, parts, n, ring, group.controller.signal);
          confirm();
        } catch (error) {
          failure ??= error;
          // The first failure stops the others: the attempt ends, the journal keeps the rest.
          group.controller.abort(error);
        }
      }
    };
    try {
      const workers = Math.max(1, Math.min(this.options.concurrency, queue.length));
      await Promise.all(Array.from({ length: workers }, worker));
    } finally {
      group.unlink();
    }
    if (failure !== undefined) throw job.signal.aborted ? s3Error(failure, 'upload', job.signal) : failure;
    return sent;
  }

  /** One part, Content-MD5 on it; BadDigest (corrupted on the way) sends it again. */
  private async sendPart(
    job: MultipartUploadJob,
    parts: PartsToSend,
    partNumber: number,
    ring: Buffer[],
    signal: AbortSignal,
  ): Promise<number> {
    const { uploadId, plan } = parts;
    const { start, end } = partRange(plan, job.size, partNumber);
    const md5 = parts.partMd5s[partNumber - 1];
    if (md5 === undefined) throw new AppError('INTERNAL_ERROR', `no MD5 for part ${partNumber}`);
    for (let attempt = 1; ; attempt += 1) {
      const { controller, unlink } = linked(signal);
      const watchdog = this.options.watchdog(controller);
      const body = this.options.body;
      async function* stream(): AsyncGenerator<Uint8Array> {
        yield* body(job.filePath, start, end, {
          buffers: ring,
          signal: controller.signal,
          onBytes: job.onBytes,
          onPull: () => watchdog.touch(),
        });
        watchdog.bodyDone();
      }
      const readable = Readable.from(stream(), { objectMode: false, highWaterMark: PIECE });
      // An aborted request stops listening to its body; the failure is reported by send().
      readable.on('error', () => undefined);
      try {
        const answer = await this.client.send(
          new UploadPartCommand({
            Bucket: this.options.bucket,
            Key: job.key,
            UploadId: uploadId,
            PartNumber: partNumber,
            ContentLength: end - start,
            ContentMD5: Buffer.from(md5, 'hex').toString('base64'),
            Body: readable,
          }),
          { abortSignal: controller.signal },
        );
        this.journal.recordPart(job.taskId, {
          partNumber,
          size: end - start,
          etag: normalizeEtag(answer.ETag),
          md5,
        });
        return attempt;
      } catch (error) {
        const code = s3ErrorCode(error);
        if (code === 'BadDigest' || code === 'InvalidDigest') {
          if (attempt < CORRUPT_PART_TRIES) {
            job.note?.(`part ${partNumber} reached the bucket corrupted (${code}): sending it again`);
            continue;
          }
          throw new AppError(
            'CHECKSUM_MISMATCH',
            `part ${partNumber} reached the bucket corrupted ${attempt} times in a row (Content-MD5 mismatch); the connection damages data`,
            { cause: error },
          );
        }
        if (code === 'NoSuchUpload') {
          throw new AppError(
            'SERVER_ERROR',
            `the bucket dropped multipart upload ${uploadId} while part ${partNumber} was sent; it will be started again`,
            { cause: error },
          );
        }
        throw s3Error(error, `part ${partNumber} of ${plan.count}`, controller.signal);
      } finally {
        watchdog.stop();
        unlink();
      }
    }
  }
}

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError } from '../errors/index.js';
import type { JournalPart, JournalUpload, MultipartJournal } from './multipart-journal.js';
import {
  md5OfRange,
  multipartEtag,
  normalizeEtag,
  partRange,
  planParts,
  type PartPlan,
} from './multipart-etag.js';
import { s3Error, s3ErrorCode } from './s3-errors.js';

/**
 * Streams bytes [start, end) of a file as a request body, at the shared rate limit (uploads'
 * `fileBody` with its RateLimiter).
 */
export type RangeBody = (
  filePath: string,
  start: number,
  end: number,
  hooks: {
    buffers: Buffer[];
    onPull?: () => void;
    signal: AbortSignal;
    onBytes: (bytes: number) => void;
  },
) => AsyncIterable<Uint8Array>;

/** A per-request stall watchdog (uploads' `StallWatchdog`): aborts `controller` on a stall. */
export type WatchdogFactory = (controller: AbortController) => {
  touch(): void;
  bodyDone(): void;
  stop(): void;
};

export interface MultipartUploaderOptions {
  bucket: string;
  /** Preferred part size (grown to fit 10,000 parts). */
  partSizeBytes: number;
  /** Parts in flight at once. */
  concurrency: number;
  watchdog: WatchdogFactory;
  body: RangeBody;
}

export interface MultipartUploadJob {
  taskId: string;
  filePath: string;
  size: number;
  sha256: string;
  key: string;
  contentType: string;
  /** x-amz-meta-* (ASCII values); `sha256` is always added. */
  metadata: Record<string, string>;
  signal: AbortSignal;
  /** This many more bytes were handed to a connection. */
  onBytes: (bytes: number) => void;
  /** The parts the bucket confirmed hold this many bytes in all. */
  onConfirmed: (bytes: number) => void;
  /** A new multipart upload was created (its UploadId is already in the journal). */
  onUploadId?: (uploadId: string) => void;
  /** A line for the task's history (resume summary, a part sent again, …). */
  note?: (message: string) => void;
}

export interface MultipartUploadResult {
  bucket: string;
  key: string;
  etag: string;
  /** 'etag': the bucket's multipart ETag equals ours; 'read-back': the object was read back. */
  verifiedBy: 'etag' | 'read-back';
  partSize: number;
  partCount: number;
  /** Part requests sent by this call (a part sent again after BadDigest counts twice). */
  partsSent: number;
  /** Parts already in the bucket that this call did not send. */
  partsReused: number;
}

/** BadDigest: the bytes the bucket received are not those we hashed; sent again this often. */
const CORRUPT_PART_TRIES = 3;
const RING = 8;
const PIECE = 256 * 1024;

/** The bucket no longer knows the UploadId (aborted, expired, or already completed). */
class UploadGone extends Error {}

function linked(parent: AbortSignal): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  const forward = (): void => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', forward) };
}

/**
 * A resumable S3 multipart upload on plain client-s3 commands, driven by a journal
 * (`MultipartJournal`). Not `@aws-sdk/lib-storage`: it cannot resume after a crash
 * (aws-sdk-js-v3#6832, #3509) and holds whole parts in memory (#4257); here every part streams
 * from the file through a ring of 256 KiB buffers, so memory stays flat whatever the size.
 *
 * States of one upload: (none) → created (UploadId in the journal before any part) → parts
 * confirmed one by one (each in the journal with size, ETag, MD5) → completed from the journal →
 * verified (multipart ETag, else read back and sha256) → `markCompleted` once the caller wrote
 * what goes beside it. A resume reconciles ListParts with the journal and sends only the rest.
 */
export class ResumableMultipartUploader {
  constructor(
    private readonly client: S3Client,
    private readonly journal: MultipartJournal,
    private readonly options: MultipartUploaderOptions,
  ) {}

  get bucket(): string {
    return this.options.bucket;
  }

  /** Uploads (or resumes, or finds already complete) the task's object; verified on return. */
  async upload(job: MultipartUploadJob): Promise<MultipartUploadResult> {
    const plan = planParts(job.size, this.options.partSizeBytes);
    let known = this.journal.find(job.taskId);
    if (known && !this.sameContent(known.upload, job, plan)) {
      job.note?.('the file or its destination changed since the last attempt: starting the upload over');
      await this.abortQuietly(known.upload);
      this.journal.discard(job.taskId);
      known = undefined;
    }
    let partsReused = 0;
    if (known) {
      try {
        partsReused = await this.reconcile(known.upload, known.parts, job, plan);
      } catch (error) {
        if (!(error instanceof UploadGone)) throw error;
        const done = await this.alreadyComplete(job, plan);
        if (done) return { ...done, partsSent: 0, partsReused: plan.count };
        job.note?.(
          `the bucket no longer has multipart upload ${known.upload.uploadId} (aborted or expired): starting over`,
        );
        this.journal.discard(job.taskId);
        known = undefined;
      }
    }
    let uploadId = known?.upload.uploadId;
    if (uploadId === undefined) {
      uploadId = await this.create(job, plan);
      job.onUploadId?.(uploadId);
    }
    const partsSent = await this.sendMissing(uploadId, job, plan);
    const result = await this.complete(uploadId, job, plan);
    return { ...result, partsSent, partsReused };
  }

  /** Records that the object and what the caller wrote beside it are done (the journal's end). */
  markCompleted(
    taskId: string,
    result: { etag: string; verifiedBy: 'etag' | 'read-back'; manifestKey: string },
  ): void {
    this.journal.complete(taskId, { ...result, completedAt: new Date().toISOString() });
  }

  /** Aborts the task's multipart upload so nothing stays billed, and forgets it. */
  async abort(taskId: string): Promise<void> {
    const known = this.journal.find(taskId);
    if (!known) return;
    if (known.upload.state !== 'completed') await this.abortQuietly(known.upload, true);
    this.journal.discard(taskId);
  }

  /** Aborts by UploadId (a cancel that only has the task's remote URL). */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    const taskId = this.journal.taskOfUpload(uploadId);
    await this.abortQuietly({ bucket: this.options.bucket, key, uploadId }, true);
    if (taskId !== undefined) this.journal.discard(taskId);
  }

  // --- steps ------------------------------------------------------------------------------

  private sameContent(upload: JournalUpload, job: MultipartUploadJob, plan: PartPlan): boolean {
    return (
      upload.bucket === this.options.bucket &&
      upload.key === job.key &&
      upload.size === job.size &&
      upload.sha256 === job.sha256 &&
      upload.partSize === plan.partSize
    );
  }

  private async create(job: MultipartUploadJob, plan: PartPlan): Promise<string> {
    let answer;
    try {
      answer = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: job.key,
          ContentType: job.contentType,
          Metadata: { ...job.metadata, sha256: job.sha256 },
        }),
        { abortSignal: job.signal },
      );
    } catch (error) {
      throw s3Error(error, `bucket ${this.options.bucket}: starting the upload`, job.signal);
    }
    const uploadId = answer.UploadId;
    if (!uploadId)
      throw new AppError('UPLOAD_FAILED', 'the bucket started a multipart upload without an UploadId');
    // Saved before the first part: a crash from here on leaves an upload we can resume or abort.
    this.journal.begin({
      taskId: job.taskId,
      bucket: this.options.bucket,
      key: job.key,
      uploadId,
      partSize: plan.partSize,
      size: job.size,
      sha256: job.sha256,
      createdAt: new Date().toISOString(),
    });
    job.note?.(
      `multipart upload ${uploadId} created for s3://${this.options.bucket}/${job.key} (${plan.count} parts of ${plan.partSize} bytes)`,
    );
    return uploadId;
  }

  /**
   * Brings the journal in line with ListParts: a journal part the bucket lacks, or holds with
   * another ETag or size, is forgotten (sent again); a part the bucket holds that the journal
   * lacks (a crash between the answer and the journal write) is adopted when its ETag is the
   * MD5 of our bytes. Answers how many parts need not be sent.
   */
  private async reconcile(
    upload: JournalUpload,
    parts: JournalPart[],
    job: MultipartUploadJob,
    plan: PartPlan,
  ): Promise<number> {
    const listed = await this.listParts(upload, job.signal);
    const journaled = new Map(parts.map((p) => [p.partNumber, p]));
    let kept = 0;
    for (const part of parts) {
      const there = listed.get(part.partNumber);
      if (there && there.etag === part.etag && there.size === part.size) kept += 1;
      else {
        this.journal.forgetPart(job.taskId, part.partNumber);
        job.note?.(
          there
            ? `part ${part.partNumber} in the bucket differs from the journal (ETag ${there.etag}, expected ${part.etag}): sending it again`
            : `part ${part.partNumber} is missing from the bucket: sending it again`,
        );
      }
    }
    for (const [partNumber, there] of listed) {
      if (journaled.has(partNumber) || partNumber > plan.count) continue;
      const { start, end } = partRange(plan, job.size, partNumber);
      if (there.size !== end - start) continue;
      const md5 = await md5OfRange(job.filePath, start, end, job.signal);
      if (there.etag === md5) {
        this.journal.recordPart(job.taskId, { partNumber, size: there.size, etag: there.etag, md5 });
        kept += 1;
      }
    }
    job.note?.(
      `resuming multipart upload ${upload.uploadId}: ${kept} of ${plan.count} parts already in the bucket`,
    );
    return kept;
  }

  private async listParts(
    upload: Pick<JournalUpload, 'bucket' | 'key' | 'uploadId'>,
    signal: AbortSignal,
  ): Promise<Map<number, { etag: string; size: number }>> {
    const out = new Map<number, { etag: string; size: number }>();
    let marker: string | undefined;
    for (;;) {
      let answer;
      try {
        answer = await this.client.send(
          new ListPartsCommand({
            Bucket: upload.bucket,
            Key: upload.key,
            UploadId: upload.uploadId,
            ...(marker === undefined ? {} : { PartNumberMarker: marker }),
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        if (s3ErrorCode(error) === 'NoSuchUpload') throw new UploadGone();
        throw s3Error(error, `bucket ${upload.bucket}: listing the parts of the upload`, signal);
      }
      for (const part of answer.Parts ?? []) {
        if (part.PartNumber !== undefined) {
          out.set(part.PartNumber, { etag: normalizeEtag(part.ETag), size: part.Size ?? -1 });
        }
      }
      if (!answer.IsTruncated || answer.NextPartNumberMarker === undefined) return out;
      marker = answer.NextPartNumberMarker;
    }
  }

  /** Sends every part the journal lacks, `concurrency` at a time; answers the requests made. */
  private async sendMissing(uploadId: string, job: MultipartUploadJob, plan: PartPlan): Promise<number> {
    const have = new Set((this.journal.find(job.taskId)?.parts ?? []).map((p) => p.partNumber));
    const confirmedBytes = (): number =>
      (this.journal.find(job.taskId)?.parts ?? []).reduce((sum, p) => sum + p.size, 0);
    job.onConfirmed(confirmedBytes());
    const queue: number[] = [];
    for (let n = 1; n <= plan.count; n += 1) if (!have.has(n)) queue.push(n);
    const group = linked(job.signal);
    let sent = 0;
    let failure: unknown;
    const worker = async (): Promise<void> => {
      // Reused for every part this worker sends: the body's ring, and the MD5 pass's buffer.
      const buffers = Array.from({ length: RING }, () => Buffer.allocUnsafe(PIECE));
      const md5Buffer = Buffer.allocUnsafe(1024 * 1024);
      for (let n = queue.shift(); n !== undefined && failure === undefined; n = queue.shift()) {
        try {
          sent += await this.sendPart(
            uploadId,
            n,
            job,
            plan,
            { ring: buffers, md5: md5Buffer },
            group.controller.signal,
          );
          job.onConfirmed(confirmedBytes());
        } catch (error) {
          failure ??= error;
          // The first failure stops the others: the attempt ends, the journal keeps the rest.
          group.controller.abort(error);
        }
      }
    };
    try {
      await Promise.all(
        Array.from({ length: Math.max(1, Math.min(this.options.concurrency, queue.length)) }, worker),
      );
    } finally {
      group.unlink();
    }
    if (failure !== undefined) throw job.signal.aborted ? s3Error(failure, 'upload', job.signal) : failure;
    return sent;
  }

  /** One part, Content-MD5 on it; BadDigest (corrupted on the way) sends it again. */
  private async sendPart(
    uploadId: string,
    partNumber: number,
    job: MultipartUploadJob,
    plan: PartPlan,
    buffers: { ring: Buffer[]; md5: Buffer },
    signal: AbortSignal,
  ): Promise<number> {
    const { start, end } = partRange(plan, job.size, partNumber);
    const md5 = await md5OfRange(job.filePath, start, end, signal, buffers.md5);
    for (let attempt = 1; ; attempt += 1) {
      const { controller, unlink } = linked(signal);
      const watchdog = this.options.watchdog(controller);
      const body = this.options.body;
      async function* stream(): AsyncGenerator<Uint8Array> {
        yield* body(job.filePath, start, end, {
          buffers: buffers.ring,
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

  /** Completes from the journal and verifies the object. */
  private async complete(
    uploadId: string,
    job: MultipartUploadJob,
    plan: PartPlan,
  ): Promise<Omit<MultipartUploadResult, 'partsSent' | 'partsReused'>> {
    const parts = this.journal.find(job.taskId)?.parts ?? [];
    if (parts.length !== plan.count || parts.some((p, i) => p.partNumber !== i + 1)) {
      throw new AppError(
        'UPLOAD_INCOMPLETE',
        `the journal holds ${parts.length} of ${plan.count} parts; resume the upload`,
      );
    }
    let etag: string;
    try {
      const answer = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: job.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
        }),
        { abortSignal: job.signal },
      );
      etag = normalizeEtag(answer.ETag);
    } catch (error) {
      if (s3ErrorCode(error) === 'NoSuchUpload') {
        // Completed by an earlier attempt whose answer was lost?
        const done = await this.alreadyComplete(job, plan);
        if (done) return done;
      }
      throw s3Error(error, `bucket ${this.options.bucket}: completing the upload`, job.signal);
    }
    return this.verify(job, plan, parts, etag);
  }

  /** The object at the key, when it is this content (a completion whose answer was lost). */
  private async alreadyComplete(
    job: MultipartUploadJob,
    plan: PartPlan,
  ): Promise<Omit<MultipartUploadResult, 'partsSent' | 'partsReused'> | undefined> {
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: job.key }), {
        abortSignal: job.signal,
      });
    } catch (error) {
      if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
        return undefined;
      throw s3Error(error, `bucket ${this.options.bucket}: checking ${job.key}`, job.signal);
    }
    if (head.Metadata?.['sha256'] !== job.sha256 || head.ContentLength !== job.size) return undefined;
    const parts = this.journal.find(job.taskId)?.parts ?? [];
    const complete = parts.length === plan.count;
    return this.verify(job, plan, complete ? parts : [], normalizeEtag(head.ETag));
  }

  /**
   * The bucket's ETag must be the multipart ETag of our parts' MD5s. A store that computes
   * ETags otherwise (or parts we no longer have MD5s of) gets one read-back: the object's sha256
   * must be the file's. A wrong object is deleted, so nothing wrong stays as if complete.
   */
  private async verify(
    job: MultipartUploadJob,
    plan: PartPlan,
    parts: JournalPart[],
    etag: string,
  ): Promise<Omit<MultipartUploadResult, 'partsSent' | 'partsReused'>> {
    const base = {
      bucket: this.options.bucket,
      key: job.key,
      etag,
      partSize: plan.partSize,
      partCount: plan.count,
    };
    if (parts.length === plan.count && etag === multipartEtag(parts.map((p) => p.md5))) {
      return { ...base, verifiedBy: 'etag' };
    }
    job.note?.(
      `the bucket's ETag ${etag} is not the multipart ETag computed here: reading the object back to compare its sha256`,
    );
    const sha256 = await this.readBackSha256(job.key, job.signal);
    if (sha256 !== job.sha256) {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: job.key }))
        .catch(() => undefined);
      throw new AppError(
        'CHECKSUM_MISMATCH',
        `the bucket assembled an object whose sha256 is ${sha256}, not ${job.sha256}; it was deleted, upload the file again`,
      );
    }
    return { ...base, verifiedBy: 'read-back' };
  }

  private async readBackSha256(key: string, signal: AbortSignal): Promise<string> {
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), {
        abortSignal: signal,
      });
      const hash = createHash('sha256');
      for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      return hash.digest('hex');
    } catch (error) {
      throw s3Error(error, `bucket ${this.options.bucket}: reading ${key} back`, signal);
    }
  }

  private async abortQuietly(
    upload: Pick<JournalUpload, 'bucket' | 'key' | 'uploadId'>,
    strict = false,
  ): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: upload.bucket,
          Key: upload.key,
          UploadId: upload.uploadId,
        }),
      );
    } catch (error) {
      if (s3ErrorCode(error) === 'NoSuchUpload') return;
      if (strict) throw s3Error(error, `bucket ${upload.bucket}: aborting the upload`);
    }
  }
}

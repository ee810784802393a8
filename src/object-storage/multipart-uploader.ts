import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListPartsCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AppError } from '../errors/index.js';
import type { JournalPart, JournalUpload, MultipartJournal } from './multipart-journal.js';
import {
  digestFile,
  multipartEtag,
  normalizeEtag,
  partRange,
  planParts,
  type FileDigest,
  type PartPlan,
} from './multipart-etag.js';
import { PartSender } from './multipart-parts.js';
import type {
  MultipartUploaderOptions,
  MultipartUploadJob,
  MultipartUploadResult,
} from './multipart-types.js';
import { s3Error, s3ErrorCode } from './s3-errors.js';

/** The bucket no longer knows the UploadId (aborted, expired, or already completed). */
class UploadGone extends Error {}

/** One call of `upload`: the job, how the file is cut, and what its one hash pass gave. */
interface Run {
  job: MultipartUploadJob;
  plan: PartPlan;
  digest: FileDigest;
}

type Verified = Omit<MultipartUploadResult, 'partsSent' | 'partsReused'>;

/**
 * A resumable S3 multipart upload on plain client-s3 commands, driven by a journal
 * (`MultipartJournal`). Not `@aws-sdk/lib-storage`: it cannot resume after a crash
 * (aws-sdk-js-v3#6832, #3509) and holds whole parts in memory (#4257); here every part streams
 * from the file (`PartSender`), so memory stays flat whatever the size.
 *
 * States of one upload: hashed (one read: sha256 + each part's MD5) → created (UploadId in the
 * journal before any part) → parts confirmed one by one (each in the journal with size, ETag,
 * MD5) → completed from the journal → verified (multipart ETag, else read back and sha256) →
 * `markCompleted` once the caller wrote what goes beside it. A resume hashes the file again
 * (at disk speed), reconciles ListParts with the journal and sends only the rest.
 */
export class ResumableMultipartUploader {
  private readonly sender: PartSender;

  constructor(
    private readonly client: S3Client,
    private readonly journal: MultipartJournal,
    private readonly options: MultipartUploaderOptions,
  ) {
    this.sender = new PartSender(client, journal, options);
  }

  get bucket(): string {
    return this.options.bucket;
  }

  /** Uploads (or resumes, or finds already complete) the task's object; verified on return. */
  async upload(job: MultipartUploadJob): Promise<MultipartUploadResult> {
    const plan = planParts(job.size, this.options.partSizeBytes);
    // x-amz-meta-sha256 is fixed when the upload is created, and each part's Content-MD5 goes
    // before its body: one read of the file gives both (see ARCHITECTURE, "One hash pass").
    const digest = await digestFile(job.filePath, job.size, plan, job.signal);
    if (job.sha256 !== null && job.sha256 !== digest.sha256) {
      throw new AppError(
        'FILE_CHANGED',
        `${job.filePath} no longer has the content an earlier attempt hashed (sha256 ${digest.sha256}, was ${job.sha256}); enqueue it again`,
      );
    }
    job.onDigest?.(digest.sha256);
    const run: Run = { job, plan, digest };
    let known = this.journal.find(job.taskId);
    if (known && !this.sameContent(known.upload, run)) {
      job.note?.('the file or its destination changed since the last attempt: starting the upload over');
      await this.abortQuietly(known.upload);
      this.journal.discard(job.taskId);
      known = undefined;
    }
    let partsReused = 0;
    if (known) {
      try {
        partsReused = await this.reconcile(known.upload, known.parts, run);
      } catch (error) {
        if (!(error instanceof UploadGone)) throw error;
        const done = await this.alreadyComplete(run);
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
      uploadId = await this.create(run);
      job.onUploadId?.(uploadId);
    }
    const partsSent = await this.sender.sendMissing(job, { uploadId, plan, partMd5s: digest.partMd5s });
    // A file still being written is never completed in the bucket.
    await job.beforeComplete?.();
    const result = await this.complete(uploadId, run);
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

  private sameContent(upload: JournalUpload, { job, plan, digest }: Run): boolean {
    return (
      upload.bucket === this.options.bucket &&
      upload.key === job.key &&
      upload.size === job.size &&
      upload.sha256 === digest.sha256 &&
      upload.partSize === plan.partSize
    );
  }

  private async create({ job, plan, digest }: Run): Promise<string> {
    let answer;
    try {
      answer = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.options.bucket,
          Key: job.key,
          ContentType: job.contentType,
          Metadata: { ...job.metadata, sha256: digest.sha256 },
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
      sha256: digest.sha256,
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
    { job, plan, digest }: Run,
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
      const md5 = digest.partMd5s[partNumber - 1];
      if (there.size === end - start && md5 !== undefined && there.etag === md5) {
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

  /** Completes from the journal and verifies the object. */
  private async complete(uploadId: string, run: Run): Promise<Verified> {
    const { job, plan } = run;
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
        const done = await this.alreadyComplete(run);
        if (done) return done;
      }
      throw s3Error(error, `bucket ${this.options.bucket}: completing the upload`, job.signal);
    }
    return this.verify(run, etag);
  }

  /** The object at the key, when it is this content (a completion whose answer was lost). */
  private async alreadyComplete(run: Run): Promise<Verified | undefined> {
    const { job, digest } = run;
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
    if (head.Metadata?.['sha256'] !== digest.sha256 || head.ContentLength !== job.size) return undefined;
    return this.verify(run, normalizeEtag(head.ETag));
  }

  /**
   * The bucket's ETag must be the multipart ETag of our parts' MD5s (all known from the hash
   * pass). A store that computes ETags otherwise gets one read-back: the object's sha256 must
   * be the file's. A wrong object is deleted, so nothing wrong stays as if complete.
   */
  private async verify({ job, plan, digest }: Run, etag: string): Promise<Verified> {
    const base = {
      bucket: this.options.bucket,
      key: job.key,
      etag,
      sha256: digest.sha256,
      partSize: plan.partSize,
      partCount: plan.count,
    };
    if (etag === multipartEtag(digest.partMd5s)) return { ...base, verifiedBy: 'etag' };
    job.note?.(
      `the bucket's ETag ${etag} is not the multipart ETag computed here: reading the object back to compare its sha256`,
    );
    const sha256 = await this.readBackSha256(job.key, job.signal);
    if (sha256 !== digest.sha256) {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: job.key }))
        .catch(() => undefined);
      throw new AppError(
        'CHECKSUM_MISMATCH',
        `the bucket assembled an object whose sha256 is ${sha256}, not ${digest.sha256}; it was deleted, upload the file again`,
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

import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { s3Error } from '../../object-storage/index.js';
import type { BucketObjects } from './s3-objects.js';

/** Default part size of a streamed body: S3's minimum is 5 MiB (but for the last part). */
export const SINK_PART_BYTES = 8 * 1024 * 1024;
/** Parts uploaded at once; memory is bounded by (this + 1) × the part size. */
const PARTS_IN_FLIGHT = 2;

/**
 * A writable that streams a body of unknown length into one S3 multipart upload, part by part
 * (each with Content-MD5), holding at most a few parts in memory. The object does NOT exist
 * until `complete()` — a body cut short, or one that fails verification, is `abort()`ed and
 * leaves nothing in the bucket.
 *
 *   created ──write…──▶ finished (all parts sent) ──complete()──▶ object visible
 *      └──────────────── error / abort() ──▶ aborted (nothing left)
 */
export class MultipartSink extends Writable {
  private uploadId: string | undefined;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private readonly parts: Array<{ ETag: string; PartNumber: number }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown;
  private nextPart = 1;

  constructor(
    private readonly objects: BucketObjects,
    readonly key: string,
    private readonly partBytes = SINK_PART_BYTES,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    this.objects.client
      .send(new CreateMultipartUploadCommand({ Bucket: this.objects.bucket, Key: this.key }))
      .then(
        (out) => {
          this.uploadId = out.UploadId;
          callback();
        },
        (error: unknown) => callback(s3Error(error, `CREATE upload ${this.key}`)),
      );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.buffered.push(chunk);
    this.bufferedBytes += chunk.length;
    if (this.bufferedBytes < this.partBytes) {
      callback();
      return;
    }
    this.sendBuffered().then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // An empty body sends no part: it is refused (EMPTY_FILE) and aborted, never completed.
    const last = this.bufferedBytes > 0;
    (last ? this.sendBuffered() : Promise.resolve())
      .then(() => Promise.all(this.inFlight))
      .then(() => {
        if (this.failure) throw this.failure;
        callback();
      })
      .catch(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A body that failed half-way: nothing of it may stay billed in the bucket.
    if (error) void this.abort().finally(() => callback(error));
    else callback();
  }

  /** Makes the object visible at `key` (after the body was verified). */
  async complete(): Promise<void> {
    const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
    try {
      await this.objects.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.objects.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      throw s3Error(error, `COMPLETE ${this.key}`);
    }
    this.uploadId = undefined;
  }

  /** Drops the upload and its parts (idempotent; nothing after a complete). */
  async abort(): Promise<void> {
    const uploadId = this.uploadId;
    this.uploadId = undefined;
    await Promise.allSettled([...this.inFlight]);
    if (uploadId) await this.objects.abort(this.key, uploadId);
  }

  /** Sends what is buffered as the next part; waits while too many parts are in flight. */
  private async sendBuffered(): Promise<void> {
    const body = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    const partNumber = this.nextPart++;
    const sending = this.sendPart(partNumber, body).then(
      () => undefined,
      (error: unknown) => {
        this.failure ??= error;
      },
    );
    this.inFlight.add(sending);
    void sending.finally(() => this.inFlight.delete(sending));
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  private async sendPart(partNumber: number, body: Buffer): Promise<void> {
    try {
      const out = await this.objects.client.send(
        new UploadPartCommand({
          Bucket: this.objects.bucket,
          Key: this.key,
          UploadId: this.uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ContentMD5: createHash('md5').update(body).digest('base64'),
        }),
      );
      this.parts.push({ ETag: out.ETag ?? '', PartNumber: partNumber });
    } catch (error) {
      throw s3Error(error, `PUT part ${partNumber} of ${this.key}`);
    }
  }
}

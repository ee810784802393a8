import type { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from '../config/index.js';
import type { Db } from '../store/index.js';
import { S3UploadJournalRepository } from '../store/s3-upload-journal-repository.js';
import {
  ResumableMultipartUploader,
  createS3Client,
  parseS3Url,
  probeDurationSeconds,
  putManifest,
  recordingKey,
  s3Url,
} from '../object-storage/index.js';
import { fileBody } from './file-body.js';
import type { RateLimiter } from './rate-limiter.js';
import { StallWatchdog } from './stall-watchdog.js';
import type { StoredObject, Transport, TransportJob, TransportResult } from './transport.js';

/** What the S3 transport needs; built once per upload service. */
export interface S3TransportOptions {
  db: Db;
  s3: S3Config;
  partSizeBytes: number;
  /** Parts in flight at once. */
  concurrency: number;
  stallTimeoutMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  limiter: RateLimiter | undefined;
}

/**
 * UPLOAD_TARGET=s3: the task's file goes straight into the bucket with the resumable multipart
 * uploader (src/object-storage), journaled in the station's database, then a JSON manifest
 * beside it. A thin adapter: the uploader verifies the object itself (multipart ETag, or a
 * read-back sha256), so the result carries the confirmation and the object's key and ETag.
 */
export class S3Transport implements Transport {
  readonly protocol = 's3' as const;
  private readonly client: S3Client;
  private readonly uploader: ResumableMultipartUploader;
  private readonly journal: S3UploadJournalRepository;

  constructor(private readonly options: S3TransportOptions) {
    this.client = createS3Client(options.s3, {
      connectTimeoutMs: options.connectTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
    });
    this.journal = new S3UploadJournalRepository(options.db);
    const answerMs = Math.max(options.stallTimeoutMs, options.requestTimeoutMs);
    this.uploader = new ResumableMultipartUploader(this.client, this.journal, {
      bucket: options.s3.bucket,
      partSizeBytes: options.partSizeBytes,
      concurrency: options.concurrency,
      watchdog: (controller) => new StallWatchdog(controller, options.stallTimeoutMs, answerMs),
      body: (filePath, start, end, hooks) =>
        fileBody(filePath, start, end, { ...hooks, limiter: options.limiter }),
    });
  }

  async upload(job: TransportJob): Promise<TransportResult> {
    const bucket = this.options.s3.bucket;
    const key = recordingKey(this.options.s3.prefix, job.taskId, job.fileName);
    // The uploader hashes the file once before the first part (sha256 for x-amz-meta-sha256,
    // which is fixed at creation, and every part's MD5 in the same read).
    const result = await this.uploader.upload({
      taskId: job.taskId,
      filePath: job.filePath,
      size: job.size,
      sha256: job.sha256,
      key,
      contentType: contentTypeOf(job.fileName),
      metadata: { 'streamai-task-id': job.taskId },
      signal: job.signal,
      ...(job.beforeComplete ? { beforeComplete: job.beforeComplete } : {}),
      onBytes: job.onBytes,
      onConfirmed: job.onConfirmed,
      onUploadId: (uploadId) => job.onRemoteUrl(s3Url(bucket, key, uploadId)),
      ...(job.onNote ? { note: job.onNote } : {}),
    });
    const sha256 = result.sha256;
    const manifestKey = await putManifest(
      this.client,
      {
        format: 'streamai.recording-manifest.v1',
        task_id: job.taskId,
        session: { name: job.sessionName },
        recording: {
          id: job.recordingId ?? null,
          file_name: job.fileName,
          size: job.size,
          duration_seconds: await probeDurationSeconds(job.filePath, job.signal),
        },
        sha256,
        object: {
          bucket,
          key,
          etag: result.etag,
          part_size: result.partSize,
          part_count: result.partCount,
          verified_by: result.verifiedBy,
        },
        upload_time: new Date().toISOString(),
      },
      job.signal,
    );
    this.uploader.markCompleted(job.taskId, {
      etag: result.etag,
      verifiedBy: result.verifiedBy,
      manifestKey,
    });
    job.onConfirmed(job.size);
    const object: StoredObject = {
      bucket,
      key,
      etag: result.etag,
      manifestKey,
      verifiedBy: result.verifiedBy,
    };
    const how =
      result.verifiedBy === 'etag'
        ? `the bucket's multipart ETag ${result.etag} equals the one computed here`
        : `read back once: the bucket computes ETags otherwise (${result.etag}), its sha256 matched`;
    return {
      sha256,
      serverSha256: sha256,
      object,
      confirmation: `stored in s3://${bucket}/${key}: ${how}; sha256 ${sha256} in x-amz-meta-sha256 (${result.partsSent} part requests sent, ${result.partsReused} parts already there)`,
    };
  }

  /** Aborts the multipart upload (cancel, giving up), so nothing stays billed in the bucket. */
  async terminate(remoteUrl: string): Promise<void> {
    const parsed = parseS3Url(remoteUrl);
    if (parsed?.uploadId === undefined) return;
    await this.uploader.abortUpload(parsed.key, parsed.uploadId);
  }

  close(): void {
    this.client.destroy();
  }
}

const TYPES: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  flv: 'video/x-flv',
  ts: 'video/mp2t',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

function contentTypeOf(fileName: string): string {
  const ext = fileName.split('.').pop()?.toLowerCase() ?? '';
  return TYPES[ext] ?? 'application/octet-stream';
}

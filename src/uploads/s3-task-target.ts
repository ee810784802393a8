import type { S3Config } from '../config/index.js';
import type { UploadTaskRecord } from '../store/index.js';
import type { UploadSettings, UploadTask } from './upload-types.js';

/**
 * What an S3 task records as its target (issue 12): the bucket and prefix it goes to as
 * `s3://<bucket>/<prefix>`, the endpoint as `?endpoint=` (absent for AWS's default), protocol
 * `s3`. Not the processing server's URL: an S3 task's bytes never go there (the server is only
 * asked to process the object afterwards, see s3-processing.ts). Kept free of the AWS SDK.
 */
export function s3TargetUrl(s3: Pick<S3Config, 'bucket' | 'prefix' | 'endpoint'>): string {
  const prefix = s3.prefix.split('/').map(encodeURIComponent).join('/');
  const endpoint = s3.endpoint === undefined ? '' : `?endpoint=${encodeURIComponent(s3.endpoint)}`;
  return `s3://${s3.bucket}/${prefix}${endpoint}`;
}

/** The bucket, prefix and endpoint of an `s3TargetUrl`, or undefined when it is not one. */
export function parseS3Target(
  url: string,
): { bucket: string; prefix: string; endpoint: string | null } | undefined {
  const match = /^s3:\/\/([^/?]+)\/([^?]*)(?:\?endpoint=(.+))?$/.exec(url);
  if (!match?.[1]) return undefined;
  try {
    return {
      bucket: match[1],
      prefix: (match[2] ?? '').split('/').map(decodeURIComponent).join('/'),
      endpoint: match[3] === undefined ? null : decodeURIComponent(match[3]),
    };
  } catch {
    return undefined;
  }
}

/** The target a new task records: the bucket (UPLOAD_TARGET=s3), else the server and protocol setting. */
export function recordedTarget(settings: Pick<UploadSettings, 'apiUrl' | 'protocol' | 's3'>): {
  targetUrl: string;
  targetProtocol: string;
} {
  return settings.s3
    ? { targetUrl: s3TargetUrl(settings.s3), targetProtocol: 's3' }
    : { targetUrl: settings.apiUrl, targetProtocol: settings.protocol };
}

/** The caller's view of a recorded target (see `UploadTask.target`). */
export function targetView(
  record: Pick<UploadTaskRecord, 'targetUrl' | 'targetProtocol'>,
): UploadTask['target'] {
  if (record.targetUrl === null) return null;
  if (record.targetProtocol === 's3') {
    const s3 = parseS3Target(record.targetUrl);
    if (s3) return { url: `s3://${s3.bucket}/${s3.prefix}`, protocol: 's3', endpoint: s3.endpoint };
  }
  const protocol =
    record.targetProtocol === 'tus' || record.targetProtocol === 'multipart' ? record.targetProtocol : 'auto';
  return { url: record.targetUrl, protocol };
}

/** Whether the processing server was asked to process an S3 task's object (s3-processing.ts). */
export interface S3ProcessingStart {
  /** pending (asking, or waiting to ask again) → started | failed (the server refused it for good). */
  state: 'pending' | 'started' | 'failed';
  /** Requests made so far. */
  attempts: number;
  /** The last failure, while pending (to be retried) or failed. */
  lastError: { code: string; message: string } | null;
  /** When the next request goes out, while pending after a failure. */
  nextAttemptAt: string | null;
}

/** Where an S3 task stands in the bucket (the page, the CLI and `/api/vultr/*` show it). */
export interface S3TaskState {
  bucket: string;
  key: string;
  /** The S3 endpoint; null: AWS's default for the region. */
  endpoint: string | null;
  /** The multipart upload in progress, while there is one. */
  uploadId: string | null;
  /** Parts the bucket confirmed (journaled), of `partCount` (null before the upload is created). */
  partsInBucket: number;
  partCount: number | null;
  /** POST /process-object on the processing server after the upload; null when not asked for. */
  processing: S3ProcessingStart | null;
}

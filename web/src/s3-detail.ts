/**
 * The line of an upload that went into an S3 bucket (UPLOAD_TARGET=s3): where it goes (bucket,
 * prefix, endpoint), the object's key, how many parts the bucket holds, how it was verified,
 * and whether the processing server was asked to process it.
 */
import type { UploadView } from './api-types.js';
import { formatBytes, formatDuration } from './format.js';

type S3View = NonNullable<UploadView['s3']>;

function partsText(s3: S3View): string {
  return s3.part_count === null
    ? 'no part in the bucket yet'
    : `${s3.parts_in_bucket} of ${s3.part_count} parts in the bucket`;
}

function processingText(s3: S3View): string {
  const p = s3.processing_start;
  if (!p || p.state === 'started') return '';
  const why = p.last_error ? `: ${p.last_error.message}` : '';
  return p.state === 'failed'
    ? ` · processing not started, the server refused it${why}`
    : ` · processing not started yet${why}${p.next_attempt_at ? ' (asking again)' : ''}`;
}

export function s3Detail(u: UploadView, s3: S3View, percent: number): string {
  const where = ` · to ${u.target_url ?? `s3://${s3.bucket}/`}${s3.endpoint ? ` at ${s3.endpoint}` : ''} · key ${s3.key}`;
  if (u.state === 'completed') {
    // Say what was checked, no more: the multipart ETag, or a read-back sha256.
    const verified =
      s3.verified_by === 'etag'
        ? 'ETag verified in the bucket'
        : s3.verified_by === 'read-back'
          ? 'read back from the bucket, sha256 compared'
          : 'in the bucket';
    return `${formatBytes(u.size)} · ${verified}${where}${processingText(s3)}`;
  }
  if (u.state !== 'uploading')
    return `${formatBytes(u.bytes_sent)} of ${formatBytes(u.size)} · ${partsText(s3)}${where}`;
  const rate = u.rate_bytes_per_second > 0 ? ` · ${formatBytes(u.rate_bytes_per_second)}/s` : '';
  const eta = u.eta_seconds === null ? '' : ` · ETA ${formatDuration(u.eta_seconds)}`;
  return `${percent.toFixed(0)}% · ${partsText(s3)}${rate}${eta}${where}`;
}

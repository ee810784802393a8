import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ffprobePath } from '../media/index.js';
import { s3Error } from './s3-errors.js';

/** The JSON object written beside each recording, so that the bucket alone says what it is. */
export interface RecordingManifest {
  format: 'streamai.recording-manifest.v1';
  task_id: string;
  session: { name: string | null };
  recording: { id: string | null; file_name: string; size: number; duration_seconds: number | null };
  sha256: string;
  object: {
    bucket: string;
    key: string;
    etag: string;
    part_size: number;
    part_count: number;
    /** 'etag': multipart ETag checked; 'read-back': the object was read back and its sha256 compared. */
    verified_by: 'etag' | 'read-back';
  };
  /** ISO 8601, when the object was completed and verified. */
  upload_time: string;
}

/** The manifest's key: the recording's key plus `.manifest.json`. */
export function manifestKeyFor(objectKey: string): string {
  return `${objectKey}.manifest.json`;
}

/** The recording's duration in seconds from ffprobe, or null when it cannot tell. */
export async function probeDurationSeconds(filePath: string, signal?: AbortSignal): Promise<number | null> {
  try {
    const { stdout } = await promisify(execFile)(
      ffprobePath,
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=nw=1:nk=1', filePath],
      { signal, timeout: 30_000 },
    );
    const seconds = Number(stdout.trim());
    return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) / 1000 : null;
  } catch {
    return null;
  }
}

/** Writes the manifest (Content-MD5 on it, like every part). */
export async function putManifest(
  client: S3Client,
  manifest: RecordingManifest,
  signal?: AbortSignal,
): Promise<string> {
  const key = manifestKeyFor(manifest.object.key);
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: manifest.object.bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentType: 'application/json; charset=utf-8',
        ContentMD5: createHash('md5').update(body).digest('base64'),
        Metadata: { 'streamai-task-id': manifest.task_id },
      }),
      signal ? { abortSignal: signal } : {},
    );
  } catch (error) {
    throw s3Error(error, `bucket ${manifest.object.bucket}: writing the manifest`, signal);
  }
  return key;
}

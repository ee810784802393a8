import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { s3Error, s3ErrorCode, s3Status } from '../../object-storage/index.js';

/** CopyObject's limit; a larger object is copied part by part (UploadPartCopy). */
const MAX_SINGLE_COPY_BYTES = 5 * 1024 ** 3;
/** Size of each UploadPartCopy range for a large copy. */
const COPY_PART_BYTES = 1024 ** 3;

/** Whether an SDK error says the object (or upload) is not there. */
export function isNotFound(error: unknown): boolean {
  const code = s3ErrorCode(error);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchUpload' || s3Status(error) === 404;
}

/** What a HEAD tells about an object. */
export interface ObjectHead {
  size: number;
  metadata: Record<string, string>;
}

/**
 * The few object operations the ingest storage needs, on one bucket, each failure mapped to
 * the code table (s3Error). Keys are full keys (S3_PREFIX included).
 */
export class BucketObjects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {}

  async head(key: string): Promise<ObjectHead | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: out.ContentLength ?? 0, metadata: out.Metadata ?? {} };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw s3Error(error, `HEAD ${key}`);
    }
  }

  /** The object's bytes (a range of them when asked), as a stream. */
  async get(key: string, range?: { start: number; end: number }): Promise<Readable> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      return out.Body as Readable;
    } catch (error) {
      throw s3Error(error, `GET ${key}`);
    }
  }

  /**
   * Downloads an object to a local file (its folder created): into `<file>.partial`, renamed
   * once whole, so a cut download is never taken for the input. Resolves with its sha256.
   */
  async download(key: string, localPath: string): Promise<string> {
    await mkdir(path.dirname(localPath), { recursive: true });
    const partial = `${localPath}.partial`;
    const hash = createHash('sha256');
    const body = await this.get(key);
    body.on('data', (chunk: Buffer) => hash.update(chunk));
    try {
      await pipeline(body, createWriteStream(partial));
      await rename(partial, localPath);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
    return hash.digest('hex');
  }

  /** sha256 (hex) and size of an object, read in full. */
  async sha256(key: string): Promise<{ sha256: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await this.get(key)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { sha256: hash.digest('hex'), size };
  }

  /** Puts a local file (small: an output) in one request. */
  async putFile(key: string, localPath: string, contentType?: string): Promise<void> {
    const { size } = await stat(localPath);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(localPath),
          ContentLength: size,
          ...(contentType ? { ContentType: contentType } : {}),
        }),
      );
    } catch (error) {
      throw s3Error(error, `PUT ${key}`);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (!isNotFound(error)) throw s3Error(error, `DELETE ${key}`);
    }
  }

  /** Keys under a prefix (every page). */
  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const out = await this.client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
        .catch((error: unknown) => {
          throw s3Error(error, `LIST ${prefix}`);
        });
      for (const item of out.Contents ?? []) if (item.Key) keys.push(item.Key);
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** Multipart uploads under a prefix started before `before` (ms epoch). */
  async staleUploads(prefix: string, before: number): Promise<Array<{ key: string; uploadId: string }>> {
    const found: Array<{ key: string; uploadId: string }> = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const out = await this.client
        .send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        )
        .catch((error: unknown) => {
          throw s3Error(error, `LIST uploads ${prefix}`);
        });
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId && (u.Initiated?.getTime() ?? 0) < before)
          found.push({ key: u.Key, uploadId: u.UploadId });
      }
      if (!out.IsTruncated) return found;
      keyMarker = out.NextKeyMarker;
      uploadIdMarker = out.NextUploadIdMarker;
    }
  }

  async abort(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      if (!isNotFound(error)) throw s3Error(error, `ABORT ${key}`);
    }
  }

  /**
   * Server-side copy of a whole object (no bytes through this machine). The target appears
   * whole or not at all: CopyObject up to 5 GiB, a multipart copy (UploadPartCopy ranges,
   * then CompleteMultipartUpload) above. `metadata` replaces the source's.
   */
  async copy(source: string, target: string, size: number, metadata: Record<string, string>): Promise<void> {
    const copySource = `${this.bucket}/${source.split('/').map(encodeURIComponent).join('/')}`;
    try {
      if (size <= MAX_SINGLE_COPY_BYTES) {
        await this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: target,
            CopySource: copySource,
            MetadataDirective: 'REPLACE',
            Metadata: metadata,
          }),
        );
        return;
      }
      const created = await this.client.send(
        new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: target, Metadata: metadata }),
      );
      const uploadId = created.UploadId as string;
      try {
        const parts: Array<{ ETag: string; PartNumber: number }> = [];
        for (let start = 0, n = 1; start < size; start += COPY_PART_BYTES, n++) {
          const end = Math.min(size, start + COPY_PART_BYTES) - 1;
          const out = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: target,
              UploadId: uploadId,
              PartNumber: n,
              CopySource: copySource,
              CopySourceRange: `bytes=${start}-${end}`,
            }),
          );
          parts.push({ ETag: out.CopyPartResult?.ETag ?? '', PartNumber: n });
        }
        await this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: target,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
          }),
        );
      } catch (error) {
        await this.abort(target, uploadId).catch(() => undefined);
        throw error;
      }
    } catch (error) {
      throw s3Error(error, `COPY ${source} → ${target}`);
    }
  }
}

import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { S3 } from '@aws-sdk/client-s3';
import { S3Store, type MetadataValue } from '@tus/s3-store';
import { ERRORS, Upload, type KvStore } from '@tus/server';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { fullUploadsAmong, type CompletedUploadLookup } from '../hashing-file-store.js';
import { isNotFound, type BucketObjects } from './s3-objects.js';

interface HashState {
  offset: number;
  hash: Hash;
}

/** What the store is built from. */
export interface HashingS3StoreOptions {
  s3ClientConfig: S3ClientConfig;
  objects: BucketObjects;
  /** Every key of the store starts with it: `<S3_PREFIX>.tus/`. */
  stagingPrefix: string;
  expirationMs: number;
  completed: CompletedUploadLookup;
  /** Upload metadata cache; shared between nodes (a KV store) when several serve one bucket. */
  cache?: KvStore<MetadataValue>;
}

/**
 * The client @tus/s3-store uses, with every object key put under the staging prefix: the store
 * names objects by upload id alone, and ours live in `<S3_PREFIX>.tus/` beside the recordings,
 * never at a key a recording could take.
 */
function withKeyPrefix(client: S3, prefix: string): S3 {
  const prefixed = (params: unknown): unknown => {
    if (typeof params !== 'object' || params === null) return params;
    const out: Record<string, unknown> = { ...(params as Record<string, unknown>) };
    if (typeof out.Key === 'string') out.Key = prefix + out.Key;
    const del = out.Delete as { Objects?: Array<{ Key?: string }> } | undefined;
    if (del?.Objects) {
      out.Delete = { ...del, Objects: del.Objects.map((o) => ({ ...o, Key: prefix + (o.Key ?? '') })) };
    }
    return out;
  };
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      const method = value as (this: S3, ...args: unknown[]) => unknown;
      return (params: unknown, ...rest: unknown[]) => method.call(target, prefixed(params), ...rest);
    },
  });
}

/**
 * @tus/s3-store with a running sha256 per upload, fed on the write path (the bytes pass through
 * a tap before the store splits them into parts), and what our completion needs: the declared
 * digest saved in the upload's `.info`, a read-back digest when the running one was lost (a
 * restart, a PATCH that failed half-way — parts already in S3 cannot be read before completion),
 * and start-up recovery. The store's object (`<staging>/<id>`) exists once S3 assembled it
 * (CompleteMultipartUpload on the last byte); it is only copied to the task's key after
 * verification, and removed with `forget`.
 */
export class HashingS3Store extends S3Store {
  private readonly hashes = new Map<string, HashState>();
  private readonly objects: BucketObjects;
  readonly stagingPrefix: string;
  private readonly completed: CompletedUploadLookup;

  constructor(options: HashingS3StoreOptions) {
    super({
      s3ClientConfig: { ...options.s3ClientConfig, bucket: options.objects.bucket },
      expirationPeriodInMilliseconds: options.expirationMs,
      // Tags (for bucket lifecycle rules) are not supported by every S3-compatible store.
      useTags: false,
      ...(options.cache ? { cache: options.cache } : {}),
    });
    this.client = withKeyPrefix(this.client, options.stagingPrefix);
    this.objects = options.objects;
    this.stagingPrefix = options.stagingPrefix;
    this.completed = options.completed;
  }

  /** The full key of an upload's assembled object. */
  keyOf(id: string): string {
    return this.stagingPrefix + id;
  }

  override async create(upload: Upload): Promise<Upload> {
    const created = await super.create(upload);
    this.hashes.set(upload.id, { offset: 0, hash: createHash('sha256') });
    return created;
  }

  override async getUpload(id: string): Promise<Upload> {
    const done = await this.completed(id);
    if (done) return new Upload({ id, size: done.size, offset: done.size });
    return super.getUpload(id);
  }

  override async write(src: Readable, id: string, offset: number): Promise<number> {
    if (await this.completed(id)) {
      // Nothing may change a completed upload; an empty PATCH at its end just confirms it.
      src.resume();
      await finished(src).catch(() => undefined);
      return offset;
    }
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    const hash = state?.offset === offset ? state.hash : offset === 0 ? createHash('sha256') : undefined;
    let fed = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash?.update(chunk);
        fed += chunk.length;
        callback(null, chunk);
      },
    });
    const piping = pipeline(src, tap);
    piping.catch(() => undefined); // the store's own pipeline reports the failure
    const newOffset = await super.write(tap, id, offset);
    if (hash && newOffset === offset + fed) this.hashes.set(id, { offset: newOffset, hash });
    return newOffset;
  }

  /** Saves the declared whole-file sha256 in the upload's `.info`; false for an unknown upload. */
  async declareSha256(id: string, sha256: string): Promise<boolean> {
    let metadata: MetadataValue;
    try {
      metadata = await this.getMetadata(id);
    } catch {
      return false;
    }
    if (metadata.file.metadata?.sha256 === sha256) return true;
    metadata.file.metadata = { ...(metadata.file.metadata ?? {}), sha256 };
    await this.saveMetadata(metadata.file, metadata['upload-id']);
    await this.cache.set(id, metadata);
    return true;
  }

  async exists(id: string): Promise<boolean> {
    return this.getMetadata(id).then(
      () => true,
      () => false,
    );
  }

  /**
   * The sha256 of a complete upload: the running digest when it saw every byte, else the
   * assembled object read back once (after a restart the parts already sent are not readable
   * any other way).
   */
  async digest(id: string, size: number): Promise<string> {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    if (state?.offset === size) return state.hash.digest('hex');
    await this.assemble(id);
    const read = await this.objects.sha256(this.keyOf(id));
    if (read.size !== size) throw new Error(`stored upload ${id} has ${read.size} bytes, not ${size}`);
    return read.sha256;
  }

  /**
   * Makes sure S3 assembled the upload: a server killed between its last part and
   * CompleteMultipartUpload left the parts only.
   */
  async assemble(id: string): Promise<void> {
    if (await this.objects.head(this.keyOf(id))) return;
    const metadata = await this.getMetadata(id);
    await this.finishMultipartUpload(metadata, await this.retrieveParts(id));
  }

  /** tus termination: everything of the upload goes (the store's own remove leaves `.part`). */
  override async remove(id: string): Promise<void> {
    if (!(await this.exists(id))) throw ERRORS.FILE_NOT_FOUND;
    await this.forget(id);
  }

  /** Removes everything of an upload: its object, `.info` and `.part`, and any multipart upload. */
  async forget(id: string): Promise<void> {
    this.hashes.delete(id);
    const metadata = await this.getMetadata(id).catch(() => undefined);
    const uploadId = metadata?.['upload-id'];
    if (uploadId) await this.objects.abort(this.keyOf(id), uploadId);
    for (const key of [this.keyOf(id), this.keyOf(this.infoKey(id)), this.keyOf(this.partKey(id, true))]) {
      await this.objects.delete(key);
    }
    await this.clearCache(id);
  }

  /** The ids of every upload record (`.info`) under the staging prefix. */
  async recordIds(): Promise<string[]> {
    const keys = await this.objects.list(this.stagingPrefix);
    return keys
      .filter((k) => k.endsWith('.info'))
      .map((k) => k.slice(this.stagingPrefix.length, -'.info'.length));
  }

  /** Records whose bytes are gone: neither an assembled object nor a multipart upload. */
  async orphanRecords(): Promise<string[]> {
    const orphans: string[] = [];
    for (const id of await this.recordIds()) {
      if (await this.objects.head(this.keyOf(id))) continue;
      const hasParts = await this.retrieveParts(id).then(
        () => true,
        (error: unknown) => !isNotFound(error),
      );
      if (!hasParts) orphans.push(id);
    }
    return orphans;
  }

  /** Uploads whose bytes are all stored but that were never completed (verified, copied). */
  async fullUploads(): Promise<Upload[]> {
    return fullUploadsAmong(await this.recordIds(), this.completed, (id) => super.getUpload(id));
  }

  /**
   * Expired unfinished uploads — only this store's (under the staging prefix): the bucket also
   * holds the station's resumable multipart uploads, which are none of ours to abort.
   */
  override async deleteExpired(): Promise<number> {
    const expiration = this.getExpiration();
    if (expiration === 0) return 0;
    const stale = await this.objects.staleUploads(this.stagingPrefix, Date.now() - expiration);
    for (const upload of stale) await this.forget(upload.key.slice(this.stagingPrefix.length));
    return stale.length;
  }
}

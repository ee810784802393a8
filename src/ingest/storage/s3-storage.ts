import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadBucketCommand, type S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { KvStore } from '@tus/server';
import type { MetadataValue } from '@tus/s3-store';
import type { S3Config } from '../../config/index.js';
import { AppError } from '../../errors/index.js';
import { createS3Client, s3ClientConfig, s3Error } from '../../object-storage/index.js';
import { fileSize } from './fs-files.js';
import { openLocalOutput } from './fs-storage.js';
import type {
  BucketAccess,
  IngestStorage,
  OpenedOutput,
  ProcessingPaths,
  StagedRecording,
  TusStorage,
  TusStorageOptions,
} from './ingest-storage.js';
import { MultipartSink } from './s3-multipart-sink.js';
import { BucketObjects } from './s3-objects.js';
import { HashingS3Store } from './s3-tus-store.js';

/** Multipart uploads of ours older than this are a crashed run's leftovers (aborted at start-up). */
const STALE_INCOMING_MS = 24 * 3600 * 1000;

/** What an s3 storage is built from. */
export interface S3StorageOptions {
  config: S3Config;
  client: S3Client;
  clientConfig: S3ClientConfig;
  /** Processing scratch space on this machine: `<data>/.scratch/`. */
  scratchDir: string;
  /** Upload metadata cache shared between nodes (else in memory). */
  tusCache?: KvStore<MetadataValue>;
}

/**
 * Recordings and outputs in an S3 bucket (INGEST_STORAGE=s3), keys under S3_PREFIX:
 *
 *   <prefix><task_id>/<file name>          a verified recording (x-amz-meta-sha256 = its digest)
 *   <prefix><task_id>/outputs/<name>       processing outputs
 *   <prefix>.parts/<part task>/<file>      a segmented recording's verified part, until joined
 *   <prefix>.tus/<id>, <id>.info, <id>.part  @tus/s3-store's unfinished uploads
 *   <prefix>.incoming/<random>             a multipart body being received (a multipart upload)
 *
 * A key outside `.tus/` and `.incoming/` is only ever written by a server-side copy of bytes
 * whose sha256 was checked, so nothing partial is visible under a task's name.
 */
export class S3IngestStorage implements IngestStorage {
  readonly kind = 's3' as const;
  readonly objects: BucketObjects;
  readonly bucket: BucketAccess;
  /** S3_PREFIX: every key of this storage starts with it. */
  readonly prefix: string;

  constructor(private readonly options: S3StorageOptions) {
    this.objects = new BucketObjects(options.client, options.config.bucket);
    this.prefix = options.config.prefix;
    const { objects, prefix } = this;
    this.bucket = { prefix, head: (key) => objects.head(key), sha256: (key) => objects.sha256(key) };
  }

  /** The full key of a relative path (`<task_id>/<file>`). */
  keyOf(relPath: string): string {
    return this.prefix + relPath.split(path.sep).join('/');
  }

  async prepare(): Promise<void> {
    await mkdir(this.options.scratchDir, { recursive: true });
    try {
      await this.options.client.send(new HeadBucketCommand({ Bucket: this.options.config.bucket }));
    } catch (error) {
      const cause = s3Error(error, `bucket ${this.options.config.bucket}`);
      const names =
        cause.code === 'STORAGE_AUTH_FAILED'
          ? 'S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY'
          : cause.code === 'BUCKET_NOT_FOUND'
            ? 'S3_BUCKET'
            : 'S3_ENDPOINT';
      throw new AppError(
        'CONFIG_INVALID',
        `${names}: INGEST_STORAGE=s3 cannot use the bucket (${cause.message})`,
        {
          cause,
        },
      );
    }
    const incoming = `${this.prefix}.incoming/`;
    for (const u of await this.objects.staleUploads(incoming, Date.now() - STALE_INCOMING_MS)) {
      await this.objects.abort(u.key, u.uploadId);
    }
  }

  createTus(options: TusStorageOptions): TusStorage {
    const store = new HashingS3Store({
      s3ClientConfig: this.options.clientConfig,
      objects: this.objects,
      stagingPrefix: `${this.prefix}.tus/`,
      expirationMs: options.expirationMs,
      completed: options.completed,
      ...(this.options.tusCache ? { cache: this.options.tusCache } : {}),
    });
    return {
      datastore: store,
      // Parts already in S3 cannot be rolled back: the tus checksum extension is not offered.
      chunkChecksums: false,
      expectChecksum: () => undefined,
      clearChecksum: () => undefined,
      declareSha256: (id, sha256) => store.declareSha256(id, sha256),
      exists: (id) => store.exists(id),
      receivedBytes: (id) =>
        store.getUpload(id).then(
          (u) => u.offset,
          () => undefined,
        ),
      digest: (id, size) => store.digest(id, size),
      staged: (id, size, sha256) => ({
        size,
        sha256,
        commit: async (relPath) => {
          if (await this.alreadyThere(relPath, sha256)) return;
          await store.assemble(id);
          await this.objects.copy(store.keyOf(id), this.keyOf(relPath), size, { sha256 });
        },
        discard: () => this.objects.delete(store.keyOf(id)),
      }),
      forget: (id) => store.forget(id),
      orphanRecords: () => store.orphanRecords(),
      fullUploads: () => store.fullUploads(),
    };
  }

  /**
   * Streams a body into a multipart upload at `.incoming/<random>`, hashing it on the way. The
   * final key is not known yet (a form may name its task after the file), so committing
   * completes the upload and copies the verified object to its key server-side.
   */
  async stage(body: Readable): Promise<StagedRecording> {
    const tempKey = `${this.prefix}.incoming/${randomBytes(12).toString('hex')}`;
    const sink = new MultipartSink(this.objects, tempKey);
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(body, tap, sink);
    const sha256 = hash.digest('hex');
    let completed = false;
    return {
      size,
      sha256,
      commit: async (relPath) => {
        if (await this.alreadyThere(relPath, sha256)) return;
        await sink.complete();
        completed = true;
        await this.objects.copy(tempKey, this.keyOf(relPath), size, { sha256 });
      },
      discard: async () => {
        if (completed) await this.objects.delete(tempKey);
        else await sink.abort();
      },
    };
  }

  stageFile(localPath: string): Promise<StagedRecording> {
    return this.stage(createReadStream(localPath, { highWaterMark: 1024 * 1024 }));
  }

  async putRecording(
    taskId: string,
    fileName: string,
    body: Readable,
  ): Promise<{ ref: string; size: number; sha256: string }> {
    const staged = await this.stage(body);
    const relPath = `${taskId}/${fileName}`;
    try {
      await staged.commit(relPath);
    } finally {
      await staged.discard();
    }
    return { ref: this.keyOf(relPath), size: staged.size, sha256: staged.sha256 };
  }

  async statRecording(relPath: string): Promise<number | undefined> {
    return (await this.objects.head(this.keyOf(relPath)))?.size;
  }

  async sha256Of(relPath: string): Promise<string> {
    return (await this.objects.sha256(this.keyOf(relPath))).sha256;
  }

  removeRecording(relPath: string): Promise<void> {
    return this.objects.delete(this.keyOf(relPath));
  }

  async fetchInput(taskId: string, relPath: string): Promise<string> {
    const local = this.inputPath(taskId, relPath);
    await this.objects.download(this.keyOf(relPath), local);
    return local;
  }

  private inputPath(taskId: string, relPath: string): string {
    return path.join(this.scratchOf(taskId), 'in', relPath.split(/[\\/]/).join('__'));
  }

  async releaseInputs(localPaths: readonly string[]): Promise<void> {
    for (const file of localPaths) await rm(file, { force: true });
    // Then `<scratch>/<task>/in/` and `<scratch>/<task>/` when nothing else is in them
    // (processing of the same task may be using them).
    for (const dir of new Set(localPaths.map((f) => path.dirname(f)))) {
      await rmdir(dir).catch(() => undefined);
      await rmdir(path.dirname(dir)).catch(() => undefined);
    }
  }

  async processingPaths(taskId: string, relPath: string): Promise<ProcessingPaths> {
    return { filePath: this.inputPath(taskId, relPath), outputDir: this.localOutputs(taskId) };
  }

  async ensureLocal(relPath: string, localPath: string, size: number | null): Promise<void> {
    if (size !== null && (await fileSize(localPath)) === size) return;
    await this.objects.download(this.keyOf(relPath), localPath);
  }

  putOutput(taskId: string, name: string, localPath: string): Promise<void> {
    return this.objects.putFile(this.outputKey(taskId, name), localPath);
  }

  /**
   * Puts every file a run left in `outputDir` into the bucket, then frees the run's scratch
   * folder (`…/.scratch/<task>/`, wherever the run happened: this node or a worker).
   */
  async publishOutputs(taskId: string, outputDir: string): Promise<void> {
    const names = await readdir(outputDir).catch(() => [] as string[]);
    for (const name of names) await this.putOutput(taskId, name, path.join(outputDir, name));
    const scratch = path.dirname(outputDir);
    if (path.basename(outputDir) === 'outputs' && path.basename(scratch) === taskId) {
      if (path.basename(path.dirname(scratch)) === '.scratch')
        await rm(scratch, { recursive: true, force: true });
    }
  }

  async openOutput(taskId: string, name: string): Promise<OpenedOutput | undefined> {
    // Not yet published (processing just finished): served from this machine meanwhile.
    const local = await openLocalOutput(path.join(this.localOutputs(taskId), name));
    if (local) return local;
    const key = this.outputKey(taskId, name);
    const head = await this.objects.head(key);
    if (!head) return undefined;
    return { size: head.size, open: (range) => this.objects.get(key, range) };
  }

  async close(): Promise<void> {
    this.options.client.destroy();
  }

  /**
   * Whether `relPath` already holds these bytes (another node, or the station, put them):
   * nothing to copy. A different verified object there is never overwritten: TASK_CONFLICT.
   * (Two nodes committing different bytes for one task at the same instant can still race
   * between this HEAD and the copy; the task row then says which digest won.)
   */
  private async alreadyThere(relPath: string, sha256: string): Promise<boolean> {
    const there = await this.objects.head(this.keyOf(relPath));
    if (!there) return false;
    if (there.metadata['sha256'] === sha256) return true;
    throw new AppError(
      'TASK_CONFLICT',
      `${this.keyOf(relPath)} already holds a different recording in the bucket; use a new task_id`,
    );
  }

  private scratchOf(taskId: string): string {
    return path.join(this.options.scratchDir, taskId);
  }

  private localOutputs(taskId: string): string {
    return path.join(this.scratchOf(taskId), 'outputs');
  }

  private outputKey(taskId: string, name: string): string {
    return `${this.prefix}${taskId}/outputs/${name}`;
  }
}

/** An s3 storage on the S3_* bucket, scratch space in `<data>/.scratch/`. */
export function s3IngestStorage(
  dataDir: string,
  config: S3Config,
  tusCache?: KvStore<MetadataValue>,
): S3IngestStorage {
  // The server has no journal to resume a failed request from: the SDK retries a few times.
  const clientOptions = { maxAttempts: 3 };
  return new S3IngestStorage({
    config,
    client: createS3Client(config, clientOptions),
    clientConfig: s3ClientConfig(config, clientOptions),
    scratchDir: path.join(dataDir, '.scratch'),
    ...(tusCache ? { tusCache } : {}),
  });
}

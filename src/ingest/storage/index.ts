/**
 * Where the ingest server keeps recordings and outputs (INGEST_STORAGE): the data dir (fs) or
 * an S3 bucket (s3). One interface, `IngestStorage`, for the routes, the service and processing.
 */
import path from 'node:path';
import type { KvStore } from '@tus/server';
import type { MetadataValue } from '@tus/s3-store';
import type { S3Config } from '../../config/index.js';
import { createS3Client, s3ClientConfig } from '../../object-storage/index.js';
import { FsIngestStorage } from './fs-storage.js';
import type { IngestStorage } from './ingest-storage.js';
import { S3IngestStorage } from './s3-storage.js';

export type {
  IngestStorage,
  StagedRecording,
  TusStorage,
  TusStorageOptions,
  OpenedOutput,
  ByteRange,
  ProcessingPaths,
} from './ingest-storage.js';
export { FsIngestStorage, type FsStorageDirs } from './fs-storage.js';
export { S3IngestStorage, type S3StorageOptions } from './s3-storage.js';
export { HashingS3Store } from './s3-tus-store.js';
export { BucketObjects } from './s3-objects.js';
export { fileSize, sha256OfFile, fsyncDir, fsyncFile } from './fs-files.js';

/** How to build a storage: fs (default) or s3 with the S3_* bucket. */
export interface IngestStorageSettings {
  kind: 'fs' | 's3';
  /** Required for s3. */
  s3?: S3Config | undefined;
  /** s3: a shared upload metadata cache (several nodes on one bucket). */
  tusCache?: KvStore<MetadataValue>;
}

/** The storage for a data dir, by kind. */
export function createIngestStorage(
  dataDir: string,
  settings: IngestStorageSettings = { kind: 'fs' },
): IngestStorage {
  const root = path.resolve(dataDir);
  if (settings.kind === 'fs') {
    return new FsIngestStorage({
      dataDir: root,
      incomingDir: path.join(root, '.incoming'),
      tusDir: path.join(root, '.tus'),
    });
  }
  if (!settings.s3) throw new Error('INGEST_STORAGE=s3 needs the S3_* settings');
  // The server has no journal to resume a failed request from: the SDK retries a few times.
  const clientOptions = { maxAttempts: 3 };
  return new S3IngestStorage({
    config: settings.s3,
    client: createS3Client(settings.s3, clientOptions),
    clientConfig: s3ClientConfig(settings.s3, clientOptions),
    scratchDir: path.join(root, '.scratch'),
    ...(settings.tusCache ? { tusCache: settings.tusCache } : {}),
  });
}
export { publishOutputs } from './output-publisher.js';

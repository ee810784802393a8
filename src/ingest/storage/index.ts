/**
 * Where the ingest server keeps recordings and outputs (INGEST_STORAGE): the data dir (fs) or
 * an S3 bucket (s3). One interface, `IngestStorage`, for the routes, the service and processing.
 */
import path from 'node:path';
import type { KvStore } from '@tus/server';
import type { MetadataValue } from '@tus/s3-store';
import type { S3Config } from '../../config/index.js';
import { FsIngestStorage } from './fs-storage.js';
import type { IngestStorage } from './ingest-storage.js';

export type {
  IngestStorage,
  StagedRecording,
  TusStorage,
  TusStorageOptions,
  OpenedOutput,
  ByteRange,
  ProcessingPaths,
  BucketAccess,
} from './ingest-storage.js';
export { FsIngestStorage, type FsStorageDirs } from './fs-storage.js';
export type { S3IngestStorage, S3StorageOptions } from './s3-storage.js';
export { fileSize, sha256OfFile, fsyncDir, fsyncFile } from './fs-files.js';
export { storageRunHooks } from './run-hooks.js';

/** How to build a storage: fs (default) or s3 with the S3_* bucket. */
export interface IngestStorageSettings {
  kind: 'fs' | 's3';
  /** Required for s3. */
  s3?: S3Config | undefined;
  /** s3: a shared upload metadata cache (several nodes on one bucket). */
  tusCache?: KvStore<MetadataValue>;
}

/** The data dir as storage (INGEST_STORAGE=fs, the default). */
export function fsIngestStorage(dataDir: string): FsIngestStorage {
  const root = path.resolve(dataDir);
  return new FsIngestStorage({
    dataDir: root,
    incomingDir: path.join(root, '.incoming'),
    tusDir: path.join(root, '.tus'),
  });
}

/**
 * The storage for a data dir, by kind. The S3 code (the AWS SDK, @tus/s3-store) is loaded only
 * for s3: every other command (`streamai upload`, `--version`) stays as light as before.
 */
export async function createIngestStorage(
  dataDir: string,
  settings: IngestStorageSettings = { kind: 'fs' },
): Promise<IngestStorage> {
  if (settings.kind === 'fs') return fsIngestStorage(dataDir);
  if (!settings.s3) throw new Error('INGEST_STORAGE=s3 needs the S3_* settings');
  const { s3IngestStorage } = await import('./s3-storage.js');
  return s3IngestStorage(path.resolve(dataDir), settings.s3, settings.tusCache);
}

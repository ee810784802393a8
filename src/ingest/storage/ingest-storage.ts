import type { Readable } from 'node:stream';
import type { DataStore, Upload } from '@tus/server';
import type { ChunkChecksum, CompletedUploadLookup } from '../hashing-file-store.js';
import type { RoomWatch } from '../write-tap.js';

/**
 * Bytes received and hashed but not yet visible as a task's file. `commit` makes them the file
 * at `relPath` (relative to the data dir on disk, to S3_PREFIX in a bucket); before that nothing
 * readers look at shows them. `discard` removes what is left (idempotent, also after a commit).
 */
export interface StagedRecording {
  size: number;
  sha256: string;
  commit(relPath: string): Promise<void>;
  discard(): Promise<void>;
}

/** What the tus part of a storage is built from (the routes know the tasks, the service the disk). */
export interface TusStorageOptions {
  expirationMs: number;
  /** Uploads already completed and moved to their task: HEAD still answers their full offset. */
  completed: CompletedUploadLookup;
  /** A free-space watch per write (fs only: s3 parts pass through a bounded temporary file). */
  roomWatch?: () => RoomWatch;
}

/**
 * The tus side of a storage: the @tus/server datastore plus what our completion needs of it
 * (the running sha256, the declared digest saved with the upload, start-up recovery).
 */
export interface TusStorage {
  readonly datastore: DataStore;
  /** Whether `Upload-Checksum` (the tus checksum extension, per-PATCH rollback) is supported. */
  readonly chunkChecksums: boolean;
  expectChecksum(id: string, checksum: ChunkChecksum): void;
  clearChecksum(id: string): void;
  /** Saves the whole file's declared sha256 with the upload's record; false for an unknown upload. */
  declareSha256(id: string, sha256: string): Promise<boolean>;
  /** Whether the store still holds a record of the upload. */
  exists(id: string): Promise<boolean>;
  /** Bytes stored so far for an unfinished upload (for /status), undefined when unknown. */
  receivedBytes(id: string): Promise<number | undefined>;
  /** The sha256 (hex) of a complete upload of `size` bytes (running digest, or a read-back). */
  digest(id: string, size: number): Promise<string>;
  /** A complete, hashed upload as bytes to commit into its task. */
  staged(id: string, size: number, sha256: string): StagedRecording;
  /** Forgets an upload moved out of the store (or discarded): its record and leftovers go. */
  forget(id: string): Promise<void>;
  /** Records whose bytes are gone (a crash between moving an upload out and forgetting it). */
  orphanRecords(): Promise<string[]>;
  /** Uploads whose every byte is stored but that were never completed (killed after the last byte). */
  fullUploads(): Promise<Upload[]>;
}

/** A byte range of an output, inclusive (what `Range: bytes=` asked for). */
export interface ByteRange {
  start: number;
  end: number;
}

/** An output opened for reading: its full size, and a stream of the range asked for (or all). */
export interface OpenedOutput {
  size: number;
  open(range?: ByteRange): Promise<Readable>;
}

/** Read access to the objects of an s3 storage's bucket (POST /process-object). */
export interface BucketAccess {
  /** S3_PREFIX: every key of the storage starts with it. */
  readonly prefix: string;
  head(key: string): Promise<{ size: number; metadata: Record<string, string> } | undefined>;
  /** sha256 (hex) and size of an object, read in full. */
  sha256(key: string): Promise<{ sha256: string; size: number }>;
}

/** Where processing reads a task's input and writes its outputs, on this machine. */
export interface ProcessingPaths {
  filePath: string;
  outputDir: string;
}

/**
 * Where the ingest server keeps recordings and outputs: the data dir (`fs`, today's behaviour)
 * or an S3 bucket (`s3`). Relative paths are the same in both: `<task_id>/<file name>` for a
 * task's file, `.parts/<part task id>/<file name>` for a recording's part, and
 * `<task_id>/outputs/<name>` for processing outputs.
 */
export interface IngestStorage {
  readonly kind: 'fs' | 's3';
  /** The bucket (s3); undefined for fs. */
  readonly bucket?: BucketAccess | undefined;
  /** Creates folders, clears what a previous run left half-received. */
  prepare(): Promise<void>;
  createTus(options: TusStorageOptions): TusStorage;
  /** Streams a body into a staging place while hashing it (`room` stops it at the disk reserve). */
  stage(body: Readable, room?: RoomWatch): Promise<StagedRecording>;
  /** A local file (a joined recording) as staged bytes; fs moves it, s3 uploads it. */
  stageFile(localPath: string): Promise<StagedRecording>;
  /** stage + commit at `<taskId>/<fileName>` (CONTRACTS: putRecording). */
  putRecording(
    taskId: string,
    fileName: string,
    body: Readable,
  ): Promise<{ ref: string; size: number; sha256: string }>;
  /** Size of a stored recording, undefined when there is none. */
  statRecording(relPath: string): Promise<number | undefined>;
  /** sha256 (hex) of a stored recording, read in full. */
  sha256Of(relPath: string): Promise<string>;
  removeRecording(relPath: string): Promise<void>;
  /** A local path holding the recording at `relPath` (s3: downloaded into a scratch folder). */
  fetchInput(taskId: string, relPath: string): Promise<string>;
  /** Frees local copies `fetchInput` made (s3; fs: nothing, they are the stored files). */
  releaseInputs(localPaths: readonly string[]): Promise<void>;
  /**
   * Where processing of `taskId` reads its input and writes its outputs on the machine that
   * runs it (s3: `<data>/.scratch/<task>/…`, filled by `ensureLocal` before each run).
   */
  processingPaths(taskId: string, relPath: string): Promise<ProcessingPaths>;
  /** Makes the recording at `relPath` present at `localPath` (s3: downloaded unless already whole). */
  ensureLocal(relPath: string, localPath: string, size: number | null): Promise<void>;
  /** Stores an output file of a task (s3: `<prefix><task_id>/outputs/<name>`). */
  putOutput(taskId: string, name: string, localPath: string): Promise<void>;
  /** Stores every file a run left in `outputDir`, then frees that run's scratch folder (s3). */
  publishOutputs(taskId: string, outputDir: string): Promise<void>;
  /** An output of a task, or undefined when it is not stored. */
  openOutput(taskId: string, name: string): Promise<OpenedOutput | undefined>;
  close(): Promise<void>;
}

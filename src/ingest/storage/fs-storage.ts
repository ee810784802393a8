import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HashingFileStore } from '../hashing-file-store.js';
import {
  WRITE_BUFFER_BYTES,
  insufficientStorage,
  isDiskFull,
  writeTap,
  type RoomWatch,
} from '../write-tap.js';
import { fileSize, fsyncDir, fsyncFile, sha256OfFile } from './fs-files.js';
import type {
  IngestStorage,
  OpenedOutput,
  ProcessingPaths,
  StagedRecording,
  TusStorage,
  TusStorageOptions,
} from './ingest-storage.js';

/** The folders of the data dir an fs storage uses. */
export interface FsStorageDirs {
  dataDir: string;
  incomingDir: string;
  tusDir: string;
}

/**
 * Today's storage: everything in the data dir. A body is written to `.incoming/<random>.part`
 * while hashed; committing fsyncs it, renames it into place and fsyncs both folders, so a
 * crash never leaves a half-written file under a task's name.
 */
export class FsIngestStorage implements IngestStorage {
  readonly kind = 'fs' as const;

  constructor(private readonly dirs: FsStorageDirs) {}

  async prepare(): Promise<void> {
    await mkdir(this.dirs.incomingDir, { recursive: true });
    await mkdir(this.dirs.tusDir, { recursive: true });
    for (const entry of await readdir(this.dirs.incomingDir)) {
      await rm(path.join(this.dirs.incomingDir, entry), { force: true, recursive: true });
    }
  }

  createTus(options: TusStorageOptions): TusStorage {
    const store = new HashingFileStore(
      { directory: this.dirs.tusDir, expirationPeriodInMilliseconds: options.expirationMs },
      options.completed,
      options.roomWatch,
    );
    return {
      datastore: store,
      chunkChecksums: true,
      expectChecksum: (id, checksum) => store.expectChecksum(id, checksum),
      clearChecksum: (id) => store.clearChecksum(id),
      declareSha256: async (id, sha256) => {
        const info = await store.configstore.get(id);
        if (!info) return false;
        if (info.metadata?.sha256 !== sha256) {
          info.metadata = { ...(info.metadata ?? {}), sha256 };
          await store.configstore.set(id, info);
        }
        return true;
      },
      exists: async (id) => (await store.configstore.get(id)) !== undefined,
      receivedBytes: (id) => fileSize(store.pathOf(id)),
      digest: (id, size) => store.digest(id, size),
      staged: (id, size, sha256) => this.stagedFile(store.pathOf(id), size, sha256),
      forget: (id) => store.forget(id),
      orphanRecords: () => store.orphanRecords(),
      fullUploads: () => store.fullUploads(),
    };
  }

  async stage(body: Readable, room?: RoomWatch): Promise<StagedRecording> {
    const tempPath = this.incomingPath();
    const hash = createHash('sha256');
    let size = 0;
    const tap = writeTap((chunk) => {
      hash.update(chunk);
      size += chunk.length;
    }, room);
    try {
      // A deep write buffer lets many socket reads reach the disk in one writev.
      await pipeline(
        body,
        tap,
        createWriteStream(tempPath, { flags: 'wx', highWaterMark: WRITE_BUFFER_BYTES }),
      );
    } catch (error) {
      await rm(tempPath, { force: true });
      throw isDiskFull(error) ? insufficientStorage() : error;
    }
    return this.stagedFile(tempPath, size, hash.digest('hex'));
  }

  async stageFile(localPath: string): Promise<StagedRecording> {
    const size = (await fileSize(localPath)) ?? 0;
    return this.stagedFile(localPath, size, await sha256OfFile(localPath));
  }

  async putRecording(
    taskId: string,
    fileName: string,
    body: Readable,
  ): Promise<{ ref: string; size: number; sha256: string }> {
    const staged = await this.stage(body);
    const ref = path.posix.join(taskId, fileName);
    try {
      await staged.commit(ref);
    } finally {
      await staged.discard();
    }
    return { ref: path.join(this.dirs.dataDir, ref), size: staged.size, sha256: staged.sha256 };
  }

  statRecording(relPath: string): Promise<number | undefined> {
    return fileSize(this.pathOf(relPath));
  }

  sha256Of(relPath: string): Promise<string> {
    return sha256OfFile(this.pathOf(relPath));
  }

  async removeRecording(relPath: string): Promise<void> {
    const file = this.pathOf(relPath);
    await rm(file, { force: true });
    // Only an empty folder goes: a task folder never holds anything else while receiving.
    await rmdir(path.dirname(file)).catch(() => undefined);
  }

  async fetchInput(_taskId: string, relPath: string): Promise<string> {
    return this.pathOf(relPath);
  }

  async releaseInputs(): Promise<void> {
    // fetchInput hands out the stored files themselves.
  }

  async processingPaths(taskId: string, relPath: string): Promise<ProcessingPaths> {
    return { filePath: this.pathOf(relPath), outputDir: this.outputDir(taskId) };
  }

  async putOutput(taskId: string, name: string, localPath: string): Promise<void> {
    const target = path.join(this.outputDir(taskId), name);
    if (path.resolve(localPath) === path.resolve(target)) return;
    await mkdir(path.dirname(target), { recursive: true });
    await rename(localPath, target);
  }

  async ensureLocal(): Promise<void> {
    // The recording is on this disk already.
  }

  async publishOutputs(): Promise<void> {
    // Processing writes its outputs in place: nothing to publish.
  }

  async openOutput(taskId: string, name: string): Promise<OpenedOutput | undefined> {
    return openLocalOutput(path.join(this.outputDir(taskId), name));
  }

  async close(): Promise<void> {}

  private outputDir(taskId: string): string {
    return path.join(this.dirs.dataDir, taskId, 'outputs');
  }

  private pathOf(relPath: string): string {
    return path.join(this.dirs.dataDir, relPath);
  }

  private incomingPath(): string {
    return path.join(this.dirs.incomingDir, `${randomBytes(12).toString('hex')}.part`);
  }

  /** A complete local file as staged bytes: committing fsyncs and renames it into place. */
  private stagedFile(tempPath: string, size: number, sha256: string): StagedRecording {
    const { dataDir } = this.dirs;
    return {
      size,
      sha256,
      commit: async (relPath) => {
        await fsyncFile(tempPath);
        const finalPath = path.join(dataDir, relPath);
        const dir = path.dirname(finalPath);
        await mkdir(dir, { recursive: true });
        await rename(tempPath, finalPath);
        await fsyncDir(dir);
        await fsyncDir(dataDir);
      },
      discard: () => rm(tempPath, { force: true }),
    };
  }
}

/** A local output file, or undefined when there is none. */
export async function openLocalOutput(file: string): Promise<OpenedOutput | undefined> {
  const size = await fileSize(file);
  if (size === undefined) return undefined;
  return {
    size,
    open: async (range) => createReadStream(file, range),
  };
}

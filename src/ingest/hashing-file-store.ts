import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import type http from 'node:http';
import { access, readdir, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { FileStore } from '@tus/file-store';
import { ERRORS, Upload } from '@tus/server';
import { AppError, isAppError } from '../errors/index.js';
import { RoomWatch, WRITE_BUFFER_BYTES, insufficientStorage, isDiskFull, writeTap } from './write-tap.js';

/** What the store needs to know about uploads that were completed and moved out of it. */
export interface CompletedUploadLookup {
  (uploadId: string): Promise<{ size: number } | undefined>;
}

/** Algorithms accepted in `Upload-Checksum` (the tus checksum extension). */
export const CHUNK_CHECKSUM_ALGORITHMS = ['sha1', 'sha256', 'md5'] as const;

/** A PATCH body's expected digest, from its `Upload-Checksum` header. */
export interface ChunkChecksum {
  algorithm: (typeof CHUNK_CHECKSUM_ALGORITHMS)[number];
  digest: Buffer;
}

/**
 * Of the uploads `ids`, those not completed whose every byte is stored (offset = length): a
 * server killed after the last byte and before completion (both stores recover them at start-up).
 */
export async function fullUploadsAmong(
  ids: readonly string[],
  completed: CompletedUploadLookup,
  getUpload: (id: string) => Promise<Upload>,
): Promise<Upload[]> {
  const full: Upload[] = [];
  for (const id of ids) {
    if (await completed(id)) continue;
    const upload = await getUpload(id).catch(() => undefined);
    if (upload?.size !== undefined && upload.offset === upload.size) full.push(upload);
  }
  return full;
}

interface HashState {
  /** Bytes of the file already fed into `hash`. */
  offset: number;
  hash: Hash;
}

/**
 * @tus/file-store with a running sha256 per upload, fed while the bytes stream in, so a
 * completed upload can be verified without reading it again. The digest state lives in
 * memory: after a server restart (or a write that failed part-way) the stored prefix is read
 * once to rebuild it. Uploads already completed (moved to their task folder) still answer
 * HEAD with their full offset, so a client that lost the last response sees it is done.
 */
export class HashingFileStore extends FileStore {
  private readonly hashes = new Map<string, HashState>();
  private readonly checksums = new Map<string, ChunkChecksum>();

  constructor(
    options: { directory: string; expirationPeriodInMilliseconds: number },
    private readonly completed: CompletedUploadLookup,
    /** A fresh free-space watch per write (the disk reserve); absent: no check while writing. */
    private readonly roomWatch?: () => RoomWatch,
  ) {
    super(options);
    this.extensions = [...this.extensions, 'checksum'];
  }

  /** The next write to this upload must match `checksum`, or it is rolled back (460). */
  expectChecksum(id: string, checksum: ChunkChecksum): void {
    this.checksums.set(id, checksum);
  }

  /** Drops an expectation that no write consumed (the request failed before writing). */
  clearChecksum(id: string): void {
    this.checksums.delete(id);
  }

  override async getUpload(id: string): Promise<Upload> {
    const done = await this.completed(id);
    if (done) return new Upload({ id, size: done.size, offset: done.size });
    return super.getUpload(id);
  }

  override async write(
    readable: http.IncomingMessage | Readable,
    id: string,
    offset: number,
  ): Promise<number> {
    if (await this.completed(id)) {
      // Nothing may change a completed upload; an empty PATCH at its end just confirms it.
      readable.resume();
      await finished(readable).catch(() => undefined);
      return offset;
    }
    const state = await this.stateAt(id, offset);
    const checksum = this.checksums.get(id);
    this.checksums.delete(id);
    const before = checksum ? state.hash.copy() : undefined;
    const chunkHash = checksum ? createHash(checksum.algorithm) : undefined;
    this.hashes.delete(id);
    let fed = 0;
    const tap = writeTap((chunk) => {
      state.hash.update(chunk);
      chunkHash?.update(chunk);
      fed += chunk.length;
    }, this.roomWatch?.());
    // Written here rather than by FileStore.write: a deep write buffer lets the bytes of many
    // socket reads go to disk in one writev instead of one small write each.
    const file = createWriteStream(this.pathOf(id), {
      flags: 'r+',
      start: offset,
      highWaterMark: WRITE_BUFFER_BYTES,
    });
    try {
      await pipeline(readable, tap, file);
    } catch (error) {
      // Stopped at the disk reserve (or the disk is full): what was written stays, and the
      // client resumes from the offset HEAD reports once there is room again.
      if (isAppError(error)) throw error;
      if (isDiskFull(error)) throw insufficientStorage();
      throw ERRORS.FILE_WRITE_ERROR;
    }
    if (checksum && chunkHash && before && !chunkHash.digest().equals(checksum.digest)) {
      // The tus checksum extension: a body that does not match is not kept, the offset stays.
      await truncate(this.pathOf(id), offset);
      this.hashes.set(id, { offset, hash: before });
      throw new AppError(
        'CHUNK_CHECKSUM_MISMATCH',
        `the request body does not match its Upload-Checksum (${checksum.algorithm}); nothing was kept`,
      );
    }
    const newOffset = offset + fed;
    this.hashes.set(id, { offset: newOffset, hash: state.hash });
    return newOffset;
  }

  override async remove(id: string): Promise<void> {
    this.hashes.delete(id);
    await super.remove(id);
  }

  /** The sha256 (hex) of the whole stored upload of `size` bytes; reads the file only if the running digest was lost. */
  async digest(id: string, size: number): Promise<string> {
    const state = this.hashes.get(id);
    this.hashes.delete(id);
    if (state && state.offset === size) return state.hash.digest('hex');
    return (await this.hashPrefix(id, size)).digest('hex');
  }

  /** Forgets an upload that was moved out of the store (its file renamed, its record removed). */
  async forget(id: string): Promise<void> {
    this.hashes.delete(id);
    await this.configstore.delete(id);
  }

  /**
   * Uploads whose record outlived their bytes: a crash after the bytes were moved into their
   * task folder (or removed at start-up because they did not verify), before `forget`.
   */
  async orphanRecords(): Promise<string[]> {
    const orphans: string[] = [];
    for (const id of await this.recordIds()) {
      const hasBytes = await access(this.pathOf(id)).then(
        () => true,
        () => false,
      );
      if (!hasBytes) orphans.push(id);
    }
    return orphans;
  }

  /**
   * Uploads whose bytes are all stored but that were never completed: the server died after
   * writing the last byte and before completion moved them out (or completion failed).
   */
  async fullUploads(): Promise<Upload[]> {
    return fullUploadsAmong(await this.recordIds(), this.completed, (id) => super.getUpload(id));
  }

  /** The ids of every upload record (`<id>.json`) in the store's folder. */
  private async recordIds(): Promise<string[]> {
    const entries = await readdir(this.directory).catch(() => [] as string[]);
    return entries.filter((e) => e.endsWith('.json')).map((e) => e.slice(0, -'.json'.length));
  }

  /** Where the store keeps an unfinished upload's bytes. */
  pathOf(id: string): string {
    return path.join(this.directory, id);
  }

  private async stateAt(id: string, offset: number): Promise<HashState> {
    const state = this.hashes.get(id);
    if (state && state.offset === offset) return state;
    return { offset, hash: await this.hashPrefix(id, offset) };
  }

  private async hashPrefix(id: string, length: number): Promise<Hash> {
    const hash = createHash('sha256');
    if (length === 0) return hash;
    const stream = createReadStream(this.pathOf(id), {
      start: 0,
      end: length - 1,
      highWaterMark: 1024 * 1024,
    });
    let read = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      read += chunk.length;
    }
    if (read !== length)
      throw new Error(`stored upload ${id} is shorter (${read}) than its offset (${length})`);
    return hash;
  }
}

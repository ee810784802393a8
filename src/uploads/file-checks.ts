import { execFile } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors/index.js';
import { ffprobePath } from '../media/index.js';

/** What identifies a file's content cheaply: its size and modification time. */
export interface FileFingerprint {
  size: number;
  mtimeMs: number;
}

/** Stats a file that must be a regular, non-empty file: FILE_NOT_FOUND, NOT_A_FILE, EMPTY_FILE. */
export async function statUploadable(filePath: string): Promise<FileFingerprint> {
  let info;
  try {
    info = await stat(filePath);
  } catch (error) {
    throw new AppError('FILE_NOT_FOUND', `${filePath} does not exist or cannot be read`, { cause: error });
  }
  if (!info.isFile()) throw new AppError('NOT_A_FILE', `${filePath} is not a regular file`);
  if (info.size === 0) throw new AppError('EMPTY_FILE', `${filePath} is empty`);
  return { size: info.size, mtimeMs: info.mtimeMs };
}

/** Waits `ms` and checks the file did not change meanwhile (a recorder may still be writing it). */
export async function assertNotGrowing(
  filePath: string,
  before: FileFingerprint,
  ms: number,
  signal?: AbortSignal,
): Promise<void> {
  await sleep(ms, undefined, { signal });
  const after = await statUploadable(filePath);
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
    throw new AppError(
      'FILE_STILL_GROWING',
      `${filePath} is still being written (${before.size} → ${after.size} bytes); it will be tried again`,
    );
  }
}

/** Checks with ffprobe that the file holds a video or audio stream: NOT_A_MEDIA_FILE otherwise. */
export async function assertMediaFile(filePath: string, signal?: AbortSignal): Promise<void> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile(
      ffprobePath,
      ['-v', 'error', '-show_entries', 'stream=codec_type', '-of', 'json', filePath],
      { maxBuffer: 4 * 1024 * 1024, timeout: 120_000, ...(signal ? { signal } : {}) },
      (error, stdout) => {
        if (signal?.aborted) reject(signal.reason);
        else if (error && stdout.trim() === '') resolve('');
        else resolve(stdout);
      },
    );
  });
  let types: string[] = [];
  try {
    const parsed = JSON.parse(output || '{}') as { streams?: Array<{ codec_type?: unknown }> };
    types = (parsed.streams ?? []).map((s) => String(s.codec_type));
  } catch {
    types = [];
  }
  if (!types.includes('video') && !types.includes('audio')) {
    throw new AppError(
      'NOT_A_MEDIA_FILE',
      `${filePath} has no video or audio stream ffprobe can read; only recordings are uploaded`,
    );
  }
}

/**
 * The sha256 (hex) of a whole file, read into one reused 1 MiB buffer: a read stream would
 * allocate a fresh buffer per read and leave ~40 MB of garbage for the GC on a big file.
 */
export async function sha256File(filePath: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await hashRange(filePath, hash, 0, Infinity, signal);
  return hash.digest('hex');
}

/**
 * Feeds bytes [start, end) of a file (to its end when `end` is Infinity) into `hash`. Used to
 * rebuild the digest of the prefix a server already holds when an upload resumes: read at
 * disk speed, never sent again.
 */
export async function hashRange(
  filePath: string,
  hash: Hash,
  start: number,
  end: number,
  signal?: AbortSignal,
): Promise<void> {
  const buffer = Buffer.allocUnsafe(1024 * 1024);
  const handle = await open(filePath, 'r');
  try {
    let position = start;
    while (position < end) {
      signal?.throwIfAborted();
      const want = Math.min(buffer.length, end - position);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) {
        if (end === Infinity) break;
        throw new AppError('FILE_CHANGED', `${filePath} became shorter while it was being uploaded`);
      }
      hash.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '../errors/index.js';

/** S3's limits on a multipart upload. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
export const MAX_PARTS = 10_000;
const MIB = 1024 * 1024;

/** How a file is cut into parts: every part `partSize` bytes but the last. */
export interface PartPlan {
  partSize: number;
  count: number;
}

/**
 * The part size for a file: the preferred size (VULTR_UPLOAD_CHUNK_SIZE, at least S3's 5 MiB),
 * grown to a whole number of MiB when the file would need more than 10,000 parts.
 */
export function planParts(size: number, preferredPartSize: number): PartPlan {
  let partSize = Math.max(MIN_PART_BYTES, Math.ceil(preferredPartSize / MIB) * MIB);
  if (Math.ceil(size / partSize) > MAX_PARTS) partSize = Math.ceil(size / MAX_PARTS / MIB) * MIB;
  if (partSize > MAX_PART_BYTES) {
    throw new AppError(
      'PAYLOAD_TOO_LARGE',
      `the file (${size} bytes) is larger than an S3 object may be (10,000 parts of 5 GiB)`,
    );
  }
  return { partSize, count: Math.max(1, Math.ceil(size / partSize)) };
}

/** Bytes [start, end) of part `partNumber` (1-based). */
export function partRange(plan: PartPlan, size: number, partNumber: number): { start: number; end: number } {
  const start = (partNumber - 1) * plan.partSize;
  return { start, end: Math.min(size, start + plan.partSize) };
}

/** An ETag as the journal keeps it: no quotes, lowercase. */
export function normalizeEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '').trim().toLowerCase();
}

/**
 * The ETag S3 gives a completed multipart object: the MD5 of the parts' binary MD5s, then
 * "-" and the number of parts. Equal to the bucket's answer, it proves the bucket assembled
 * exactly the parts we hashed, in order (each part was already checked by Content-MD5).
 */
export function multipartEtag(partMd5sHex: readonly string[]): string {
  const hash = createHash('md5');
  for (const md5 of partMd5sHex) hash.update(Buffer.from(md5, 'hex'));
  return `${hash.digest('hex')}-${partMd5sHex.length}`;
}

/** Reads bytes [start, end) of an open file through `buffer`, handing each piece to `onPiece`. */
async function readRange(
  handle: FileHandle,
  filePath: string,
  start: number,
  end: number,
  buffer: Buffer,
  onPiece: (piece: Buffer) => void,
  signal?: AbortSignal,
): Promise<void> {
  let position = start;
  while (position < end) {
    signal?.throwIfAborted();
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) {
      throw new AppError('FILE_CHANGED', `${filePath} became shorter while it was being uploaded`);
    }
    onPiece(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

/**
 * The MD5 (hex) of bytes [start, end) of a file, read through `buffer` (pass one to reuse it
 * for every part: a fresh MiB per part is garbage the GC collects late).
 */
export async function md5OfRange(
  filePath: string,
  start: number,
  end: number,
  signal?: AbortSignal,
  buffer: Buffer = Buffer.allocUnsafe(MIB),
): Promise<string> {
  const hash = createHash('md5');
  const handle = await open(filePath, 'r');
  try {
    await readRange(handle, filePath, start, end, buffer, (piece) => hash.update(piece), signal);
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

/** What one read of the file gives the uploader before its first request. */
export interface FileDigest {
  /** The whole file's sha256 (hex): x-amz-meta-sha256, the manifest, the journal's key. */
  sha256: string;
  /** Each part's MD5 (hex), part 1 first: its Content-MD5, and the multipart ETag. */
  partMd5s: string[];
}

/**
 * The file's sha256 and every part's MD5 in ONE read of the file (the single hash pass of an
 * S3 upload: x-amz-meta-sha256 must be known when the multipart upload is created, and each
 * part's Content-MD5 before its body goes out; see ARCHITECTURE, "One hash pass"). The parts
 * are then read once more, to send them.
 */
export async function digestFile(
  filePath: string,
  size: number,
  plan: PartPlan,
  signal?: AbortSignal,
): Promise<FileDigest> {
  const whole = createHash('sha256');
  const partMd5s: string[] = [];
  const buffer = Buffer.allocUnsafe(MIB);
  const handle = await open(filePath, 'r');
  try {
    for (let n = 1; n <= plan.count; n += 1) {
      const { start, end } = partRange(plan, size, n);
      const part = createHash('md5');
      await readRange(
        handle,
        filePath,
        start,
        end,
        buffer,
        (piece) => {
          whole.update(piece);
          part.update(piece);
        },
        signal,
      );
      partMd5s.push(part.digest('hex'));
    }
  } finally {
    await handle.close();
  }
  return { sha256: whole.digest('hex'), partMd5s };
}

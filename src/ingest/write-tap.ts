import { Transform } from 'node:stream';
import { AppError } from '../errors/index.js';

/** Bytes that may wait between the socket and the write buffer (keeps both sides busy). */
export const TAP_BUFFER_BYTES = 1024 * 1024;
/** Bytes that may wait to be written to an upload's file (many socket reads go to disk in one writev). */
export const WRITE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Free space is asked again after this many bytes went by. */
const CHECK_EVERY_BYTES = 4 * 1024 * 1024;

/** The error every upload path answers when the disk reserve is reached: 507, retry later. */
export function insufficientStorage(): AppError {
  return new AppError('INSUFFICIENT_STORAGE', 'not enough free disk space on the server for this upload');
}

/** Whether a write failed because the file system is full (then it is a 507, not a 500). */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * Keeps a body's writing above the disk reserve while it streams, whatever its declared length
 * (none for tus with Upload-Defer-Length or a chunked body): free space is asked every 4 MiB,
 * counting what still waits in the buffers as already written.
 */
export class RoomWatch {
  private sinceCheck = 0;

  constructor(
    private readonly freeBytes: () => Promise<number>,
    private readonly reserveBytes: number,
  ) {}

  /**
   * Undefined when `bytes` more may be written without asking (most chunks: no promise, no
   * tick); else a check that resolves, or rejects with INSUFFICIENT_STORAGE at the reserve.
   */
  admit(bytes: number): Promise<void> | undefined {
    this.sinceCheck += bytes;
    if (this.sinceCheck < CHECK_EVERY_BYTES) return undefined;
    this.sinceCheck = 0;
    const pending = TAP_BUFFER_BYTES + WRITE_BUFFER_BYTES + CHECK_EVERY_BYTES;
    return this.freeBytes().then((free) => {
      if (free - pending < this.reserveBytes) throw insufficientStorage();
    });
  }
}

/** A pass-through that shows every chunk to `onChunk` (hashing, counting) and stops at the reserve. */
export function writeTap(onChunk: (chunk: Buffer) => void, room: RoomWatch | undefined): Transform {
  return new Transform({
    highWaterMark: TAP_BUFFER_BYTES,
    transform(chunk: Buffer, _encoding, callback) {
      const check = room?.admit(chunk.length);
      if (!check) {
        onChunk(chunk);
        callback(null, chunk);
        return;
      }
      check.then(
        () => {
          onChunk(chunk);
          callback(null, chunk);
        },
        (error: unknown) => callback(error as Error),
      );
    },
  });
}

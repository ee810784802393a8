import type { Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { AppError } from '../errors/index.js';
import type { RateLimiter } from './rate-limiter.js';

/**
 * Read size: large enough for throughput (each piece is one read, one hash update and one
 * socket write: 1 MiB pieces took ~0.15 s less CPU per GiB than 256 KiB ones), small enough
 * that memory stays flat (the ring is 4 MiB).
 */
const PIECE_BYTES = 1024 * 1024;
const RING_SIZE = 4;

/**
 * The read buffers of one upload, reused for every piece. The client (http-exchange.ts) writes
 * an iterable body one piece at a time and waits for 'drain' whenever the socket holds more
 * than its high-water mark, so when piece n+1 is asked for, the pieces before n have left the
 * process; a ring of four leaves margin. Fresh buffers per read would leave tens of MB of garbage per upload
 * (the GC collects external memory late), cf. tus-js-client#363. A violation could not pass
 * unnoticed: the server's sha256 would differ and the task fail with CHECKSUM_MISMATCH.
 */
export function bodyBuffers(): Buffer[] {
  return Array.from({ length: RING_SIZE }, () => Buffer.allocUnsafe(PIECE_BYTES));
}

/**
 * Streams bytes [start, end) of a file as a request body, at the shared rate limit, reporting
 * each handed-over piece. `onPull` runs whenever the connection takes more (that is what keeps
 * a stall watchdog quiet); the caller learns the end when the generator returns.
 */
export async function* fileBody(
  filePath: string,
  start: number,
  end: number,
  hooks: {
    buffers: Buffer[];
    limiter?: RateLimiter | undefined;
    onPull?: () => void;
    signal: AbortSignal;
    onBytes: (bytes: number) => void;
    /** Fed every piece as it is handed over: the digest is computed on the bytes sent. */
    hash?: Hash;
  },
): AsyncGenerator<Uint8Array> {
  if (end <= start) return;
  const handle = await open(filePath, 'r');
  let position = start;
  let turn = 0;
  try {
    while (position < end) {
      const buffer = hooks.buffers[turn % hooks.buffers.length] as Buffer;
      turn += 1;
      const want = Math.min(buffer.length, end - position, hooks.limiter?.pieceBytes ?? Infinity);
      const { bytesRead } = await handle.read(buffer, 0, want, position);
      if (bytesRead === 0) {
        throw new AppError('FILE_CHANGED', `${filePath} became shorter while it was being uploaded`);
      }
      position += bytesRead;
      if (hooks.limiter) await hooks.limiter.take(bytesRead, hooks.signal);
      hooks.signal.throwIfAborted();
      hooks.onPull?.();
      const piece = buffer.subarray(0, bytesRead);
      // update() consumes the bytes now, before the ring buffer is reused.
      hooks.hash?.update(piece);
      yield piece;
      hooks.onBytes(bytesRead);
    }
  } finally {
    await handle.close();
  }
}

import { statfs } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../config/index.js';
import { AppError } from '../errors/index.js';

/** Bytes an unprivileged process may still write on the filesystem holding `dir` (or its nearest existing parent). */
export async function freeBytes(dir: string): Promise<number> {
  let current = path.resolve(dir);
  for (;;) {
    try {
      const s = await statfs(current);
      return s.bavail * s.bsize;
    } catch (error) {
      const parent = path.dirname(current);
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === current) throw error;
      current = parent;
    }
  }
}

/** INSUFFICIENT_STORAGE unless `free` reaches `minFree`, naming the folder and the setting. */
export function assertFreeSpace(dir: string, free: number, minFree: number): void {
  if (free >= minFree) return;
  throw new AppError(
    'INSUFFICIENT_STORAGE',
    `only ${formatBytes(free)} free in ${dir}; a recording needs RECORDING_MIN_FREE_BYTES=${formatBytes(minFree)} (free some space or lower it)`,
  );
}

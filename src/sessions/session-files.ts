import { rm, rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/index.js';
import { segmentFolderFor } from '../recorder/index.js';

/**
 * Removes a segmented recording's parts (once joined and verified, or once the server has them),
 * and the `.segments` folder when nothing else is left in it.
 */
export async function removeSegments(outputPath: string, logger: Logger): Promise<void> {
  const folder = segmentFolderFor(outputPath);
  try {
    await rm(folder, { recursive: true, force: true });
    await rmdir(path.dirname(folder)).catch(() => undefined); // others still in it: kept
  } catch (error) {
    logger.warn({ err: error, folder }, 'recorded parts could not be removed');
  }
}

/** "2026-11-24 20-13-03" (UTC), the way OBS names its files. */
export function stamp(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ').replace(/:/g, '-');
}

/** True when `file` exists and is a regular file. */
export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `name` in `folder`, or `name (2)`, `name (3)`… when taken. */
export async function uniquePath(folder: string, fileName: string): Promise<string> {
  const ext = path.extname(fileName);
  const base = path.basename(fileName, ext);
  for (let i = 1; ; i += 1) {
    const candidate = path.join(folder, i === 1 ? fileName : `${base} (${i})${ext}`);
    if (!(await exists(candidate))) return candidate;
  }
}

/** A file base name free in `folder` for a `.mkv` recording. */
export async function uniqueBaseName(folder: string, base: string): Promise<string> {
  return path.basename(await uniquePath(folder, `${base}.mkv`), '.mkv');
}

/** True when anything exists at `file`. */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

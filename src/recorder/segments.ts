import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** The segment muxer's list of closed parts (CSV: `file,start,end`), one line per closed part. */
export const SEGMENT_LIST_FILE = 'segments.csv';

/**
 * Where a segmented recording's parts live until they are joined (and, when uploaded as parts,
 * until the server has them): a hidden folder beside the recording, named after it, so the
 * session folder shows one recording.
 */
export function segmentFolderFor(outputPath: string): string {
  const base = path.basename(outputPath, path.extname(outputPath));
  return path.join(path.dirname(outputPath), '.segments', base);
}

/** The part file name for a 0-based index (`part00000.mkv`), and its ffmpeg pattern. */
export const SEGMENT_PATTERN = 'part%05d.mkv';
export function segmentFileName(index: number): string {
  return `part${String(index).padStart(5, '0')}.mkv`;
}

/** Every part on disk for a recording, in order (after a crash: what the recorder left). */
export async function listSegmentFiles(outputPath: string): Promise<string[]> {
  const folder = segmentFolderFor(outputPath);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^part\d{5}\.mkv$/.test(n))
    .sort()
    .map((n) => path.join(folder, n));
}

import { readdir } from 'node:fs/promises';
import path from 'node:path';

/** The segment muxer's list of closed parts (CSV: `file,start,end`), one line per closed part. */
export const SEGMENT_LIST_FILE = 'segments.csv';

/**
 * The container of a recording's parts. `mpegts` (the ffmpeg recorder when it encodes H.264 +
 * AAC) is written append-only — a byte once written never changes — so a part may be sent while
 * it grows. `matroska` (stream copy of any codec, OBS) rewrites its head when the part closes.
 */
export type SegmentFormat = 'mpegts' | 'matroska';

const EXTENSIONS: Record<SegmentFormat, string> = { mpegts: '.ts', matroska: '.mkv' };

/**
 * Where a segmented recording's parts live until they are joined (and, when uploaded as parts,
 * until the server has them): a hidden folder beside the recording, named after it, so the
 * session folder shows one recording.
 */
export function segmentFolderFor(outputPath: string): string {
  const base = path.basename(outputPath, path.extname(outputPath));
  return path.join(path.dirname(outputPath), '.segments', base);
}

/** The ffmpeg file pattern of the parts (`part%05d.ts`). */
export function segmentPattern(format: SegmentFormat): string {
  return `part%05d${EXTENSIONS[format]}`;
}

/** The part file name for a 0-based index (`part00000.mkv`, `part00000.ts`). */
export function segmentFileName(index: number, format: SegmentFormat = 'matroska'): string {
  return `part${String(index).padStart(5, '0')}${EXTENSIONS[format]}`;
}

/**
 * Every part on disk for a recording, in order (after a crash: what the recorder left) — `.ts`
 * or `.mkv`, whichever the recorder wrote.
 */
export async function listSegmentFiles(outputPath: string): Promise<string[]> {
  const folder = segmentFolderFor(outputPath);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return [];
  }
  return names
    .filter((n) => /^part\d{5}\.(?:ts|mkv)$/.test(n))
    .sort()
    .map((n) => path.join(folder, n));
}

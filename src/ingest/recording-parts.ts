/**
 * Segmented recordings (issue 11, CONTRACTS.md): a recording uploaded while it is recorded is
 * one task T whose parts arrive as ordinary uploads carrying `task_id=T`, `recording_id`,
 * `segment_index` (0-based) and, on the last part only, `segment_count`. Each part is stored as
 * its own verified upload under the internal task id `<T>.part-<index>` (so a part sent twice is
 * stored once: same digest → the existing record, other digest → 409), and T is joined once
 * parts 0..N-1 are all there.
 */
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { sanitizeFileName, sanitizeSessionName, validateTaskId } from './upload-names.js';

/** Most parts one recording may have (a day of 10-second segments). */
const MAX_PARTS = 10_000;

/** What a part upload says about the recording it belongs to. */
export interface SegmentDeclaration {
  /** The recording's task id T. */
  recordingTaskId: string;
  index: number;
  /** Set on the last part only. */
  count: number | null;
  recordingId: string | null;
  /** The joined file's name inside `<data>/<T>/`. */
  recordingFileName: string;
}

function partNumber(value: string | null | undefined, name: string, min: number): number | null {
  if (value === undefined || value === null || value.trim() === '') return null;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < min || n > MAX_PARTS) {
    throw new AppError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${MAX_PARTS}`);
  }
  return n;
}

/**
 * The recording's file name: `recording_file_name` when sent, else the part's name without its
 * trailing segment number (`talk_003.mkv`, `talk-part3.mkv`, `talk.003.mkv` → `talk.mkv`),
 * else `<recording_id><ext>`.
 */
function recordingFileNameOf(
  partFileName: string,
  explicit: string | undefined,
  recordingId: string | null,
): string {
  if (explicit) return sanitizeFileName(explicit);
  const ext = path.extname(partFileName);
  const stem = partFileName.slice(0, partFileName.length - ext.length);
  const stripped = stem.replace(/[._ -]*(?:part|seg|segment)?[._ -]?\d+$/i, '');
  if (stripped.length > 0 && stripped !== stem) return sanitizeFileName(`${stripped}${ext}`);
  return sanitizeFileName(`${recordingId ?? stem}${ext}`);
}

/** The segment a part upload declares, or undefined for an ordinary upload (no `segment_index`). */
export function segmentOf(
  fields: Record<string, string | null | undefined>,
  partFileName: string,
): SegmentDeclaration | undefined {
  const index = partNumber(fields.segment_index, 'segment_index', 0);
  if (index === null) {
    if (fields.segment_count) throw new AppError('BAD_REQUEST', 'segment_count needs a segment_index');
    return undefined;
  }
  const recordingTaskId = validateTaskId(fields.task_id);
  const count = partNumber(fields.segment_count, 'segment_count', 1);
  if (count !== null && index >= count) {
    throw new AppError('BAD_REQUEST', `segment_index ${index} is not below segment_count ${count}`);
  }
  const recordingId = sanitizeSessionName(fields.recording_id);
  return {
    recordingTaskId,
    index,
    count,
    recordingId,
    recordingFileName: recordingFileNameOf(
      partFileName,
      fields.recording_file_name ?? undefined,
      recordingId,
    ),
  };
}

/** The internal task id a part is stored under. */
export function partTaskId(segment: SegmentDeclaration): string {
  const id = `${segment.recordingTaskId}.part-${segment.index}`;
  try {
    return validateTaskId(id);
  } catch {
    throw new AppError(
      'INVALID_TASK_ID',
      'task_id is too long for a segmented recording (at most 117 characters)',
    );
  }
}

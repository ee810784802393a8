/**
 * Names that arrive in requests (task ids, session names, file names) are checked here before
 * they get anywhere near the file system: a task id is validated (it becomes a folder name),
 * session and file names are sanitised but keep spaces and non-ASCII letters.
 */
import path from 'node:path';
import { AppError } from '../errors/index.js';

const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Entries of the data directory that a task folder must never shadow. */
const RESERVED_TASK_IDS = /^ingest\.db/i;
const MAX_NAME_BYTES = 255;
// C0 and C1 control characters, DEL, and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Returns the task id if it is a safe folder name (letters, digits, `_ . -`, at most 128); else INVALID_TASK_ID. */
export function validateTaskId(value: unknown): string {
  if (typeof value !== 'string' || !TASK_ID.test(value) || RESERVED_TASK_IDS.test(value)) {
    throw new AppError(
      'INVALID_TASK_ID',
      'task_id must be 1 to 128 letters, digits, "_", "." or "-", starting with a letter or digit',
    );
  }
  return value;
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function truncateBytes(value: string, max: number): string {
  if (Buffer.byteLength(value) <= max) return value;
  let out = '';
  for (const ch of value) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/**
 * A file name safe to create inside a task folder: only the last path segment is kept, control
 * characters are dropped, and it is cut to 255 bytes keeping its extension. Spaces and letters
 * of any script stay. INVALID_NAME when nothing usable is left.
 */
export function sanitizeFileName(value: unknown): string {
  if (typeof value !== 'string') throw new AppError('INVALID_NAME', 'a file name is required');
  const segment = value.normalize('NFC').replace(CONTROL, '').split(/[/\\]/).pop() ?? '';
  let name = segment.trim();
  // A name of dots only would point at the folder itself or its parent.
  if (/^\.*$/.test(name)) throw new AppError('INVALID_NAME', 'the file name is empty or only dots');
  // `outputs` is where processing writes its results, next to the upload.
  if (name.toLowerCase() === 'outputs') name = `${name}.upload`;
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) {
    const ext = path.extname(name);
    const keep = Buffer.byteLength(ext) <= 16 ? ext : '';
    name =
      truncateBytes(name.slice(0, name.length - keep.length), MAX_NAME_BYTES - Buffer.byteLength(keep)) +
      keep;
  }
  return name;
}

/** A session name for display: control characters dropped, cut to 255 bytes; null when empty. */
export function sanitizeSessionName(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const name = truncateBytes(value.normalize('NFC').replace(CONTROL, '').trim(), MAX_NAME_BYTES);
  return name.length > 0 ? name : null;
}

/** Parses the original client's `auto_process` field ("true"/"false"); anything else is BAD_REQUEST. */
export function parseAutoProcess(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'string') {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off'].includes(v)) return false;
  }
  throw new AppError('BAD_REQUEST', 'auto_process must be "true" or "false"');
}

/** A client-declared sha256: 64 hex digits (lower-cased); undefined when absent; BAD_REQUEST when malformed. */
export function parseSha256(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string' && /^[0-9a-fA-F]{64}$/.test(value.trim())) return value.trim().toLowerCase();
  throw new AppError('BAD_REQUEST', 'sha256 must be 64 hexadecimal digits');
}

/** The upload time as sent (`YYYY-MM-DD HH:MM:SS` from the original client); other text is kept if short and printable. */
export function parseUploadTime(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = value.replace(CONTROL, '').trim();
  if (text.length === 0) return null;
  if (text.length > 64) throw new AppError('BAD_REQUEST', 'upload_time must be YYYY-MM-DD HH:MM:SS');
  return text;
}

const VIDEO_EXTENSIONS = new Set([
  '.mp4',
  '.m4v',
  '.mkv',
  '.mov',
  '.webm',
  '.flv',
  '.ts',
  '.m2ts',
  '.mts',
  '.avi',
  '.mpg',
  '.mpeg',
  '.3gp',
  '.ogv',
  '.wmv',
  '.mxf',
]);

/** Audio-only recordings are media too (the station's upload service counts an audio stream). */
const AUDIO_EXTENSIONS = new Set([
  '.m4a',
  '.aac',
  '.wav',
  '.mp3',
  '.flac',
  '.ogg',
  '.oga',
  '.opus',
  '.wma',
  '.aif',
  '.aiff',
  '.mka',
]);

/**
 * Whether an upload looks like audio or video: a media file extension, or an `audio/*` or
 * `video/*` type. The original client always sends `video/mp4` (even for .mkv), so the type
 * alone is enough.
 */
export function looksLikeMedia(fileName: string, mimeType: string | undefined): boolean {
  const ext = path.extname(fileName).toLowerCase();
  if (VIDEO_EXTENSIONS.has(ext) || AUDIO_EXTENSIONS.has(ext)) return true;
  if (typeof mimeType !== 'string') return false;
  const type = mimeType.trim().toLowerCase();
  return type.startsWith('video/') || type.startsWith('audio/');
}

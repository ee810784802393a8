import { AppError } from '../errors/index.js';

/** Longest session name in UTF-8 bytes: folder names are limited to 255 bytes on most filesystems. */
const MAX_BYTES = 200;

/**
 * Checks a session name and returns it in Unicode NFC (so "é" typed two ways is one folder).
 * Spaces and accents are kept; path separators, `..`, a leading dot, control characters and
 * names over 200 bytes are refused with INVALID_NAME.
 */
export function validateSessionName(input: string): string {
  const name = input.normalize('NFC').trim();
  const refuse = (why: string): never => {
    throw new AppError('INVALID_NAME', `invalid session name ${JSON.stringify(input)}: ${why}`);
  };
  if (name.length === 0) refuse('it is empty');
  if (/[/\\]/.test(name)) refuse('it must not contain / or \\');
  if (name.includes('..')) refuse('it must not contain ".."');
  if (name.startsWith('.')) refuse('it must not start with a dot');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) refuse('it must not contain control characters');
  if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) refuse(`it is longer than ${MAX_BYTES} bytes`);
  return name;
}

/**
 * The name a recording started without one gets, as the original did:
 * `recording_session_<YYYYMMDD_HHMMSS>` in local time (used by the API and `streamai record`).
 */
export function defaultSessionName(now: Date = new Date()): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  const date = `${now.getFullYear()}${two(now.getMonth() + 1)}${two(now.getDate())}`;
  const time = `${two(now.getHours())}${two(now.getMinutes())}${two(now.getSeconds())}`;
  return `recording_session_${date}_${time}`;
}

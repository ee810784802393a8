import { AppError } from '../errors/index.js';
import { localDateTime } from './local-time.js';

/** Longest session name in UTF-8 bytes: folder names are limited to 255 bytes on most filesystems. */
const MAX_BYTES = 200;

/** Unicode's bidirectional formatting characters (UAX #9, "Explicit Directional" and marks). */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/**
 * Checks a session name and returns it in Unicode NFC (so "é" typed two ways is one folder).
 * Spaces and accents are kept; path separators, `..`, a leading dot, control characters,
 * bidirectional controls and names over 200 bytes are refused with INVALID_NAME.
 */
export function validateSessionName(input: string): string {
  const name = input.normalize('NFC').trim();
  const refuse = (why: string): never => {
    throw new AppError('INVALID_NAME', `invalid session name ${shown(input)}: ${why}`);
  };
  if (name.length === 0) refuse('it is empty');
  if (/[/\\]/.test(name)) refuse('it must not contain / or \\');
  if (name.includes('..')) refuse('it must not contain ".."');
  if (name.startsWith('.')) refuse('it must not start with a dot');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) refuse('it must not contain control characters');
  // Bidi embeddings/overrides/isolates and marks (U+061C, U+200E/F, U+202A–E, U+2066–9) reorder
  // what a file manager or the page shows: "a\u202Egpj.exe" would display as "aexe.jpg".
  if (BIDI_CONTROLS.test(name)) refuse('it must not contain bidirectional control characters');
  if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) refuse(`it is longer than ${MAX_BYTES} bytes`);
  return name;
}

/** The name quoted with bidi and C1 controls escaped, so the error message cannot be reordered. */
function shown(input: string): string {
  return JSON.stringify(input).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

/**
 * The name of a session started without one, as the original project named it:
 * `recording_session_<YYYYMMDD_HHMMSS>` in local time.
 */
export function defaultSessionName(date: Date = new Date()): string {
  return `recording_session_${localDateTime(date).replace(/-|:/g, '').replace(' ', '_')}`;
}

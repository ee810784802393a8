import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../src/errors/index.js';
import { defaultSessionName, validateSessionName } from '../../src/sessions/index.js';

test('session names with bidirectional controls are refused with INVALID_NAME (a folder could display as a spoofed name)', () => {
  const bidi = [
    0x061c, 0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069,
  ];
  for (const cp of bidi) {
    const name = `invoice${String.fromCodePoint(cp)}gpj.exe`;
    assert.throws(
      () => validateSessionName(name),
      (e) =>
        isAppError(e) &&
        e.code === 'INVALID_NAME' &&
        /bidirectional/.test(e.message) &&
        !e.message.includes(String.fromCodePoint(cp)),
      `U+${cp.toString(16).toUpperCase()} should be refused`,
    );
  }
  assert.throws(
    () => validateSessionName('c1\u0085control'),
    (e) => isAppError(e) && e.code === 'INVALID_NAME',
  );
});

test('right-to-left scripts themselves are kept', () => {
  assert.equal(validateSessionName('جلسة أسبوعية'), 'جلسة أسبوعية');
  assert.equal(validateSessionName('שיעור 3'), 'שיעור 3');
});

test('a session started without a name is named recording_session_<YYYYMMDD_HHMMSS> in local time, as the original did', () => {
  const date = new Date(2026, 0, 5, 9, 3, 7);
  assert.equal(defaultSessionName(date), 'recording_session_20260105_090307');
  assert.equal(validateSessionName(defaultSessionName(date)), 'recording_session_20260105_090307');
});

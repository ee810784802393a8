import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nameShape } from '../../src/recorder/obs-split-follower.js';

test("OBS's next file names have the first one's shape; other files in its folder do not", () => {
  const shape = nameShape('2026-12-01 18-10-04.mkv');
  for (const name of ['2026-12-01 18-11-04.mkv', '2026-12-01 18-11-04 (2).mkv', '2026-12-01 18-11-04.MKV'])
    assert.ok(shape.test(name), name);
  for (const name of [
    'holiday.mkv',
    '2026-12-01 18-11-04.mp4',
    '2026-12-01 18-11-04 copy.mkv',
    '.2026-12-01 18-10-04.mkv.joining.mkv',
  ])
    assert.ok(!shape.test(name), name);
  // A first file that got OBS's " (2)" still matches its later files, and names without spaces work.
  assert.ok(nameShape('2026-12-01 18-10-04 (2).mkv').test('2026-12-01 18-11-04.mkv'));
  assert.ok(nameShape('Stream_2026-12-01_18-10-04.mkv').test('Stream_2026-12-01_18-11-04_(2).mkv'));
  assert.ok(!nameShape('a+b (x).mkv').test('a+b (x)x.mkv'), 'the name is escaped');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { joinParts, probeAhead } from '../../src/ingest/recording-join.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

/**
 * The server probes a recording's parts as they arrive (probeAhead) so that the join after Stop
 * does not wait for 180 ffprobe runs. What a user relies on: the duration check still holds for
 * the files actually joined — a part replaced after its early probe is probed again.
 */
test('a join uses the parts probed as they arrived, and probes again a part replaced since', async (t) => {
  const dir = await tempDir(t);
  const parts = [
    await makeClip(path.join(dir, 'part00000.ts'), { seconds: 1, format: 'mpegts' }),
    await makeClip(path.join(dir, 'part00001.ts'), { seconds: 1, format: 'mpegts' }),
    await makeClip(path.join(dir, 'part00002.ts'), { seconds: 1, format: 'mpegts' }),
  ];
  await Promise.all(parts.map((part) => probeAhead(part)));

  // Part 1 is replaced by a 2-second one after its early probe (as a part sent again would be).
  await makeClip(parts[1] as string, { seconds: 2, format: 'mpegts' });
  await utimes(parts[1] as string, new Date(), new Date(Date.now() + 5000));

  const joined = await joinParts(parts, path.join(dir, 'joined.ts'), path.join(dir, 'list.ffconcat'));
  // With part 1's stale 1-second probe the sum would be ~3 s and the check would refuse the join.
  assert.ok(Math.abs(joined.partsSeconds - 4) < 0.1, `parts ${joined.partsSeconds} s`);
  assert.ok(Math.abs(joined.durationSeconds - joined.partsSeconds) <= joined.toleranceSeconds);
});

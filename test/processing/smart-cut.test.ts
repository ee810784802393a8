import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { keptRanges, makeEdit, probeMedia } from '../../src/processing/index.js';
import { ffmpeg } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { probe } from './processing-media.js';
import {
  beepTimes,
  flashTimes,
  makeMarkerClip,
  MARKER_FPS,
  MARKER_SILENCES,
  MARKERS,
  videoPackets,
} from './smart-cut-media.js';

const limits = { timeoutMs: 120_000 };
const FRAME = 1 / MARKER_FPS;

test('smart cut: A/V stay together within a frame on both sides of each cut, the duration is the kept ranges, copied GOPs are bit-identical', async (t) => {
  const dir = await tempDir(t);
  const input = await makeMarkerClip(path.join(dir, 'markers.mp4'));
  const media = await probeMedia(input, limits);
  const edit = await makeEdit(input, dir, media, MARKER_SILENCES, { padSeconds: 0.05 }, limits);
  assert.equal(edit.edit_mode, 'smart', JSON.stringify(edit));
  assert.equal(edit.edit_fallback_reason, null);
  const output = path.join(dir, 'edited.mp4');

  // Every marker survives, and each flash has its beep within one frame.
  const flashes = await flashTimes(output);
  const beeps = await beepTimes(output);
  assert.equal(flashes.length, MARKERS.length, `flashes at ${flashes.join(', ')}`);
  assert.equal(beeps.length, MARKERS.length, `beeps at ${beeps.join(', ')}`);
  flashes.forEach((flash, i) => {
    const beep = beeps[i] ?? NaN;
    assert.ok(Math.abs(flash - beep) <= FRAME + 0.002, `marker ${i}: flash ${flash} s, beep ${beep} s`);
  });

  // Each marker is where the kept ranges put it: original time minus what was cut before it.
  const kept = keptRanges(edit.cuts, media.durationSeconds);
  MARKERS.forEach((marker, i) => {
    let at = 0;
    for (const r of kept) {
      if (marker >= r.end) at += r.end - r.start;
      else if (marker >= r.start) at += marker - r.start;
    }
    assert.ok(
      Math.abs((flashes[i] ?? NaN) - at) <= FRAME + 0.002,
      `marker ${i} at ${flashes[i]} s, expected ${at} s`,
    );
  });

  // The edited duration is the kept ranges' within one frame, measured on the file.
  const keptSeconds = kept.reduce((s, r) => s + r.end - r.start, 0);
  const written = await probe(output);
  assert.ok(
    Math.abs(written.duration - keptSeconds) <= FRAME + 0.002,
    `${written.duration} s vs ${keptSeconds} s kept`,
  );
  assert.ok(Math.abs(edit.edited_duration - written.duration) < 0.01);

  // Whole GOPs inside a kept range (from its first keyframe to its last) were copied, not re-encoded:
  // each of their packets is in the edit byte for byte.
  const source = await videoPackets(input);
  const keys = source.filter((p) => p.key).map((p) => p.pts);
  const editedHashes = new Set((await videoPackets(output)).map((p) => p.hash));
  let copied = 0;
  for (const r of kept) {
    const from = keys.find((k) => k >= r.start - 1e-4);
    const to =
      r.end >= media.durationSeconds - 1e-3 ? Infinity : [...keys].reverse().find((k) => k <= r.end + 1e-4);
    if (from === undefined || to === undefined || to <= from) continue;
    for (const p of source) {
      if (p.pts < from - 1e-4 || p.pts >= to - 1e-4) continue;
      copied += 1;
      assert.ok(editedHashes.has(p.hash), `source packet at ${p.pts} s is not in the edit as it was`);
    }
  }
  assert.ok(copied >= 3 * 60, `${copied} packets checked (three whole GOPs at least)`);
  // And only the pieces around the cuts were re-encoded.
  assert.ok(
    edit.reencoded_seconds > 0 && edit.reencoded_seconds < 4,
    `re-encoded ${edit.reencoded_seconds} s`,
  );
});

test('a source the smart cut cannot match (MPEG-4 Part 2 video) falls back to a full re-encode and says why', async (t) => {
  const dir = await tempDir(t);
  const input = path.join(dir, 'old.mkv');
  await ffmpeg(
    [
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=320x240:rate=25:duration=6',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=300:duration=6',
    ].concat(['-c:v', 'mpeg4', '-c:a', 'pcm_s16le', input]),
  );
  const media = await probeMedia(input, limits);
  const edit = await makeEdit(
    input,
    dir,
    media,
    [{ start: 2, end: 3, duration: 1 }],
    { padSeconds: 0.05 },
    limits,
  );
  assert.equal(edit.edit_mode, 'reencode');
  assert.match(edit.edit_fallback_reason ?? '', /mpeg4/);
  const written = await probe(path.join(dir, 'edited.mp4'));
  assert.ok(Math.abs(written.duration - 5.1) <= 0.1, `${written.duration} s`);
});

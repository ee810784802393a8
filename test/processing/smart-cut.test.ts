import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { keptRanges, makeEdit, probeMedia } from '../../src/processing/index.js';
import { ffmpeg } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { probe } from './processing-media.js';
import {
  beepTimes,
  decodeMono,
  flashTimes,
  makeMarkerClip,
  MARKER_FPS,
  MARKER_SILENCES,
  MARKERS,
  videoPackets,
} from './smart-cut-media.js';

const limits = { timeoutMs: 120_000 };
const FRAME = 1 / MARKER_FPS;

test(`smart cut: A/V stay together within half an AAC frame on both sides of each cut, the duration is the kept ranges, copied GOPs are bit-identical`, async (t) => {
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
  // The audio is copied in AAC frames of 1024 samples: each kept range's sound may move by at most
  // half a frame against its picture (10.7 ms at 48 kHz, a third of a 30 fps frame), never more.
  flashes.forEach((flash, i) => {
    const beep = beeps[i] ?? NaN;
    assert.ok(Math.abs(flash - beep) <= 512 / 48000 + 0.002, `marker ${i}: flash ${flash} s, beep ${beep} s`);
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

test('Matroska whose picture starts after the file (as ffmpeg writes it: 21 ms behind the audio priming) is smart-cut too, A/V within half an AAC frame', async (t) => {
  const dir = await tempDir(t);
  const input = await makeMarkerClip(path.join(dir, 'markers.mkv'));
  const media = await probeMedia(input, limits);
  const edit = await makeEdit(input, dir, media, MARKER_SILENCES, { padSeconds: 0.05 }, limits);
  assert.equal(edit.edit_mode, 'smart', JSON.stringify(edit));
  const output = path.join(dir, 'edited.mp4');
  const [flashes, beeps] = await Promise.all([flashTimes(output), beepTimes(output)]);
  assert.equal(flashes.length, MARKERS.length, `flashes at ${flashes.join(', ')}`);
  assert.equal(beeps.length, MARKERS.length, `beeps at ${beeps.join(', ')}`);
  const kept = keptRanges(edit.cuts, media.durationSeconds);
  MARKERS.forEach((marker, i) => {
    const beep = beeps[i] ?? NaN;
    const flash = flashes[i] ?? NaN;
    assert.ok(Math.abs(flash - beep) <= 512 / 48000 + 0.002, `marker ${i}: flash ${flash} s, beep ${beep} s`);
    // Where the kept ranges put it (the source's picture is 21 ms late: within a frame).
    let at = 0;
    for (const r of kept) {
      if (marker >= r.end) at += r.end - r.start;
      else if (marker >= r.start) at += marker - r.start;
    }
    assert.ok(Math.abs(flash - at) <= FRAME + 0.002, `marker ${i} at ${flash} s, expected ${at} s`);
  });
  // The hidden remux it was cut from is gone.
  assert.deepEqual(
    (await readdir(dir)).filter((n) => n.startsWith('.')),
    [],
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

test('smart cut audio: AAC packets copied between the cuts, each kept range within half an AAC frame of its video, no glitch where windows meet copied packets', async (t) => {
  const dir = await tempDir(t);
  const input = path.join(dir, 'tone.mp4');
  // A tone that never stops: every sample of the edit can be compared with the source's.
  await ffmpeg(
    ['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30:duration=6'].concat(
      ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=6', '-af', 'volume=0.6'],
      ['-c:v', 'libx264', '-preset', 'veryfast', '-g', '30', '-pix_fmt', 'yuv420p'],
      ['-c:a', 'aac', '-b:a', '128k', input],
    ),
  );
  const media = await probeMedia(input, limits);
  // Not silences of this clip: cut points that fall anywhere on the AAC frame grid.
  // The first and the last cut touch the file's ends: the edit starts and ends with a window.
  const silences = [
    { start: 0, end: 0.37, duration: 0.37 },
    { start: 1.23, end: 1.71, duration: 0.48 },
    { start: 3.37, end: 3.9, duration: 0.53 },
    { start: 5.6, end: 6, duration: 0.4 },
  ];
  const edit = await makeEdit(input, dir, media, silences, { padSeconds: 0.05 }, limits);
  assert.equal(edit.edit_mode, 'smart', JSON.stringify(edit));
  // Four windows of a few AAC frames each, and the report says how far the sound may have moved.
  assert.ok((edit.audio_reencoded_seconds ?? 9) < 1, `${edit.audio_reencoded_seconds} s of audio re-encoded`);
  assert.ok((edit.audio_max_shift_seconds ?? 9) <= 512 / 48000 + 1e-6, `${edit.audio_max_shift_seconds} s`);
  const output = path.join(dir, 'edited.mp4');
  const [source, edited] = await Promise.all([decodeMono(input), decodeMono(output)]);
  const R = 48000;
  const bound = 512; // half an AAC frame: the most a kept range's audio may move against its video
  // The kept ranges as the video cut them: whole frames.
  const snap = (s: number): number => Math.ceil(s * MARKER_FPS - 1e-4) / MARKER_FPS;
  const kept = keptRanges(edit.cuts, media.durationSeconds).map((r) => ({
    start: snap(r.start),
    end: r.end >= media.durationSeconds - 1e-3 ? r.end : snap(r.end),
  }));
  let out = 0;
  kept.forEach((r, i) => {
    const from = Math.round(r.start * R);
    const length = Math.round((r.end - r.start) * R);
    const at = Math.round(out * R);
    out += r.end - r.start;
    // The lag of the edit's audio against the source over the middle of the range.
    const error = (lag: number, lo: number, hi: number): number => {
      let worst = 0;
      for (let x = lo; x < hi; x += 1) {
        worst = Math.max(worst, Math.abs((edited[at + x + lag] ?? 9) - (source[from + x] ?? 9)));
      }
      return worst;
    };
    let best = { lag: 0, error: Infinity };
    for (let lag = -bound - 8; lag <= bound + 8; lag += 1) {
      const e = error(lag, Math.floor(length / 2) - 480, Math.floor(length / 2) + 480);
      if (e < best.error) best = { lag, error: e };
    }
    assert.ok(Math.abs(best.lag) <= bound, `range ${i}: audio moved ${best.lag} samples against the video`);
    // Everywhere in the range but at the cuts, the edit is the source (copied packets decode alike,
    // windows differ by coding noise only): a click or a dropped or doubled frame would show here.
    // At a cut the next range's audio takes over up to its own move plus this one's earlier.
    const worst = error(best.lag, bound + 96, length - (2 * bound + 96));
    assert.ok(worst < 0.05, `range ${i}: the edit differs from the source by ${worst.toFixed(4)}`);
  });
  // Most of the edit's audio packets are the source's, byte for byte.
  const sourceHashes = new Set((await videoPackets(input, 'a:0')).map((p) => p.hash));
  const editPackets = await videoPackets(output, 'a:0');
  const copied = editPackets.filter((p) => sourceHashes.has(p.hash)).length;
  assert.ok(copied >= editPackets.length * 0.75, `${copied} of ${editPackets.length} audio packets copied`);
});

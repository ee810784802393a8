import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  AAC_FRAME,
  adtsFrameOffsets,
  audioGrid,
  planAudioCut,
  windowPackets,
  type AudioPackets,
} from '../../src/processing/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const N = AAC_FRAME;
const R = 48000;
const DURATION = 60;
// 60 s of 48 kHz AAC-LC as ffmpeg writes it in MP4: a priming packet at -1024, then one per frame.
const aac: AudioPackets = {
  codec: 'aac',
  profile: 'LC',
  sampleRate: R,
  channels: 2,
  bitRate: 128_000,
  firstPts: -N,
  firstSample: 0,
  count: Math.ceil((DURATION * R) / N) + 1,
  contiguous: true,
};

/** Kept ranges on a 30 fps grid, from a seeded generator (reproducible). */
function randomRanges(seed: number): Array<{ start: number; end: number }> {
  let x = seed;
  const next = (): number => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
  const ranges: Array<{ start: number; end: number }> = [];
  let at = next() < 0.5 ? 0 : Math.floor(next() * 30) / 30;
  while (at < DURATION) {
    // Kept stretches of 1 frame to 8 s, cuts of 2 frames to 3 s.
    const end = Math.min(DURATION, at + Math.max(1, Math.floor(next() * 240)) / 30);
    ranges.push({ start: at, end });
    at = end + Math.max(2, Math.floor(next() * 90)) / 30;
  }
  return ranges;
}

test('audio cut plan: copies in order with a window between any two, windows whole frames long, no range moved more than half a frame', () => {
  let planned = 0;
  for (let seed = 1; seed <= 200; seed += 1) {
    const ranges = randomRanges(seed);
    const result = planAudioCut(ranges, DURATION, aac);
    if (!result.ok) {
      // The only refusal for AAC-LC: a range shorter than its move onto the grid leaves it.
      assert.match(result.reason, /shorter than the audio grid/, `seed ${seed}`);
      continue;
    }
    const { plan } = result;
    planned += 1;
    assert.ok(plan.maxShiftSamples <= N / 2, `seed ${seed}: moved ${plan.maxShiftSamples}`);
    let lastCopied = -1;
    plan.segments.forEach((segment, i) => {
      if (segment.kind === 'copy') {
        assert.ok(segment.first > lastCopied && segment.last >= segment.first, `seed ${seed}: order`);
        lastCopied = segment.last;
        // Two copies never touch: a window lies between any two kept ranges' packets.
        assert.notEqual(plan.segments[i + 1]?.kind, 'copy', `seed ${seed}: two copies in a row`);
        return;
      }
      const samples = segment.inputs.reduce((s, r) => s + r.end - r.start, 0);
      assert.ok(
        segment.inputs.every((r) => r.end > r.start && r.start >= 0),
        `seed ${seed}: input`,
      );
      if (segment.keepCount !== null) {
        // A window between copies is a whole number of frames, with its pre- and post-roll.
        assert.equal(samples % N, 0, `seed ${seed}: window of ${samples} samples`);
        assert.ok(segment.keepCount >= 1, `seed ${seed}: empty window`);
        assert.ok(samples / N >= segment.keepFrom - 1 + segment.keepCount, `seed ${seed}: window too short`);
      } else assert.equal(i, plan.segments.length - 1, `seed ${seed}: open window not last`);
    });
    // Each window's packets are counted out of the one encode of them all, in order.
    const kept = windowPackets(plan);
    for (let i = 1; i < kept.length; i += 1) {
      assert.ok((kept[i]?.from ?? 0) >= (kept[i - 1]?.to ?? Infinity), `seed ${seed}: windows overlap`);
    }
  }
  assert.ok(planned >= 150, `${planned} of 200 random edits planned`);
});

test('audio cut plan: a file-start range copies from the priming packet without moving; other codecs and irregular packets are refused with a reason', () => {
  // Both ranges start on the AAC grid (3.2 s and 5.12 s are multiples of 1024 samples).
  const whole = planAudioCut(
    [
      { start: 0, end: 3.2 },
      { start: 5.12, end: DURATION },
    ],
    DURATION,
    aac,
  );
  assert.ok(whole.ok);
  const [first, last] = [whole.plan.segments[0], whole.plan.segments.at(-1)];
  assert.ok(first?.kind === 'copy' && first.first === 0, JSON.stringify(first));
  // The last range runs to the end of the file: copied to the last packet, no window after.
  assert.ok(last?.kind === 'copy' && last.last === aac.count - 1, JSON.stringify(last));
  assert.equal(whole.plan.maxShiftSamples, 0);
  const refused = [
    planAudioCut([{ start: 0, end: 5 }], DURATION, { ...aac, profile: 'HE-AAC' }),
    planAudioCut([{ start: 0, end: 5 }], DURATION, { ...aac, codec: 'mp3', profile: null }),
    planAudioCut([{ start: 0, end: 5 }], DURATION, { ...aac, contiguous: false }),
    planAudioCut([{ start: 0, end: 5 }], DURATION, null),
  ];
  for (const r of refused) assert.equal(r.ok, false);
  // Matroska clocks count milliseconds: packets 21 ms apart are still one every 1024 samples.
  const times = Array.from({ length: 50 }, (_, k) => Math.round((k * N * 1000) / R) / 1000);
  assert.equal(audioGrid(times, 0, R).contiguous, true);
  assert.equal(audioGrid([...times.slice(0, 20), ...times.slice(21)], 0, R).contiguous, false);
});

test('ADTS frames are found across read chunks, and a stream cut inside a frame is refused', async (t) => {
  const dir = await tempDir(t);
  const frame = (length: number): Buffer => {
    const b = Buffer.alloc(length, 0x55);
    // Sync word, MPEG-4, layer 0, no CRC; AAC-LC 48 kHz stereo; 13-bit length; one raw block.
    b[0] = 0xff;
    b[1] = 0xf1;
    b[2] = 0x4c;
    b[3] = 0x80 | ((length >> 11) & 0x03);
    b[4] = (length >> 3) & 0xff;
    b[5] = ((length & 0x07) << 5) | 0x1f;
    b[6] = 0xfc;
    return b;
  };
  // 300 frames of 5000 bytes: headers fall on both sides of the 1 MiB read boundary.
  const frames = Array.from({ length: 300 }, (_, i) => frame(i % 2 === 0 ? 5000 : 4321));
  const file = path.join(dir, 'a.aac');
  await writeFile(file, Buffer.concat(frames));
  const offsets = await adtsFrameOffsets(file);
  assert.equal(offsets.length, frames.length + 1);
  let at = 0;
  frames.forEach((f, i) => {
    assert.equal(offsets[i], at);
    at += f.length;
  });
  assert.equal(offsets.at(-1), at);
  await writeFile(file, Buffer.concat(frames).subarray(0, at - 10));
  await assert.rejects(adtsFrameOffsets(file), /ends inside a frame/);
});

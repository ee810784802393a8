import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { runPipeline, type Timeline } from '../../src/processing/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testSettings } from './service-helpers.js';
import { TALK_DURATION, TALK_SILENCES, makeTalkClip, probe } from './processing-media.js';

test('the audio step writes timeline.json: loudness every 100 ms, silences, cuts, chapters and the sprite of pictures', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'out');
  const { report, outputs } = await runPipeline(input, outputDir, {
    ...testSettings,
    chapters: true,
    chapterSettings: { sceneThreshold: 0.4, minChapterSeconds: 1 },
  });
  assert.equal(report.timeline, 'timeline.json');
  assert.ok(outputs.some((o) => o.name === 'timeline.json'));
  const timeline = JSON.parse(await readFile(path.join(outputDir, 'timeline.json'), 'utf8')) as Timeline;

  assert.equal(timeline.version, 1);
  assert.ok(Math.abs(timeline.duration - TALK_DURATION) < 0.1);
  // One value per 100 ms; silent where the clip is muted, about the tone's level elsewhere.
  const { momentary, interval } = timeline.loudness;
  assert.equal(interval, 0.1);
  assert.ok(Math.abs(momentary.length - TALK_DURATION / interval) <= 2, `${momentary.length} values`);
  const at = (seconds: number): number | null | undefined => momentary[Math.round(seconds / interval) - 1];
  for (const s of TALK_SILENCES)
    assert.equal(at((s.start + s.end) / 2 + 0.2), null, `silent at ${(s.start + s.end) / 2}`);
  for (const loud of [1.5, 6.5, 10.5]) {
    const value = at(loud);
    assert.ok(typeof value === 'number' && value > -30 && value < -5, `loudness at ${loud} s: ${value}`);
  }
  assert.equal(timeline.loudness.integrated, report.loudness?.integrated_lufs);

  assert.deepEqual(
    timeline.silences,
    report.silences.map((s) => ({ start: s.start, end: s.end })),
  );
  assert.deepEqual(timeline.cuts, report.cuts, 'the cuts drawn are the cuts made');
  assert.deepEqual(
    timeline.chapters,
    report.chapters?.map((c) => ({ start: c.start, end: c.end, title: c.title })),
  );

  // The sprite: one picture every 10 s at most 100, tiles laid out as described.
  const thumbs = timeline.thumbnails;
  assert.ok(thumbs);
  assert.equal(thumbs.sprite, 'timeline-sprite.jpg');
  assert.equal(thumbs.times.length, Math.ceil(TALK_DURATION / 10));
  assert.ok(thumbs.times.every((time, i) => Math.abs(time - (i + 0.5) * thumbs.interval) < 0.01));
  const sprite = await probe(path.join(outputDir, thumbs.sprite));
  assert.equal(sprite.streams[0]?.width, thumbs.columns * thumbs.tile_width);
  assert.equal(sprite.streams[0]?.height, thumbs.rows * thumbs.tile_height);
});

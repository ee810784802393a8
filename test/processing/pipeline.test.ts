import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  listOutputs,
  runPipeline,
  type PipelineSettings,
  type StepRecord,
} from '../../src/processing/index.js';
import { ffmpeg } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TALK_DURATION, TALK_SILENCES, isFastStart, makeTalkClip, probe } from './processing-media.js';

const settings: PipelineSettings = {
  stepTimeoutMs: 120_000,
  silenceThresholdDb: -30,
  silenceMinSeconds: 1,
  chapters: false,
};

test('finds the silences where they are, cuts them out, and reports numbers that match the files', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'outputs');
  const updates: StepRecord[][] = [];

  const { report, outputs, steps } = await runPipeline(input, outputDir, settings, {
    onUpdate: (s) => updates.push(s),
  });

  // Silences within ±0.15 s of where the clip was muted.
  assert.equal(report.silences.length, TALK_SILENCES.length, JSON.stringify(report.silences));
  report.silences.forEach((found, i) => {
    const truth = TALK_SILENCES[i]!;
    assert.ok(Math.abs(found.start - truth.start) <= 0.15, `silence ${i} starts at ${found.start}`);
    assert.ok(Math.abs(found.end - truth.end) <= 0.15, `silence ${i} ends at ${found.end}`);
  });

  // The edited file, measured independently, is the 8 s of tone.
  const edited = await probe(path.join(outputDir, 'edited.mp4'));
  assert.ok(Math.abs(edited.duration - 8) <= 0.3, `edited file lasts ${edited.duration} s`);
  assert.deepEqual(edited.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);

  // The report's numbers are this file's numbers, and agree with each other.
  const original = await probe(input);
  assert.ok(Math.abs(report.original_duration - original.duration) < 0.01);
  assert.ok(Math.abs(report.original_duration - TALK_DURATION) <= 0.1);
  assert.ok(Math.abs(report.edited_duration - edited.duration) < 0.01);
  assert.ok(Math.abs(report.time_saved - (report.original_duration - report.edited_duration)) < 0.002);
  assert.equal(report.segments_removed, 2);
  const cut = report.cuts.reduce((sum, c) => sum + (c.end - c.start), 0);
  assert.ok(Math.abs(report.silence_removed - cut) < 0.002);
  assert.ok(Math.abs(report.silence_removed - report.time_saved) <= 0.15, JSON.stringify(report));
  assert.ok(report.loudness !== null && report.loudness.integrated_lufs !== null);
  assert.ok(report.loudness.integrated_lufs > -30 && report.loudness.integrated_lufs < -10);

  // The report on disk is the one returned.
  const onDisk = JSON.parse(await readFile(path.join(outputDir, 'report.json'), 'utf8')) as unknown;
  assert.deepEqual(onDisk, JSON.parse(JSON.stringify(report)));

  // Thumbnail, contact sheet (3×3 of 320×180), web copy (remuxed: the codecs already play in browsers).
  const thumbnail = await readFile(path.join(outputDir, 'thumbnail.jpg'));
  assert.equal(thumbnail.readUInt16BE(0), 0xffd8, 'thumbnail is a JPEG');
  const sheet = await probe(path.join(outputDir, 'contact-sheet.jpg'));
  assert.equal(sheet.streams[0]?.width, 960);
  assert.equal(sheet.streams[0]?.height, 540);
  assert.equal(report.web.video, 'copy');
  assert.ok(await isFastStart(path.join(outputDir, 'web.mp4')));
  const web = await probe(path.join(outputDir, 'web.mp4'));
  assert.ok(Math.abs(web.duration - original.duration) < 0.1);

  assert.deepEqual(
    outputs.map((o) => o.name),
    [
      'contact-sheet.jpg',
      'edited.mp4',
      'report.json',
      'thumbnail.jpg',
      'timeline-sprite.jpg',
      'timeline.json',
      'web.mp4',
    ],
  );
  assert.ok(outputs.every((o) => o.size > 0));
  assert.deepEqual(
    steps.map((s) => [s.name, s.state]),
    [
      ['probe', 'done'],
      ['thumbnail', 'done'],
      ['chapters', 'skipped'],
      ['audio', 'done'],
      ['transcribe', 'skipped'],
      ['web', 'done'],
      ['edit', 'done'],
    ],
  );
  // Progress was reported while steps ran, not only at the end.
  assert.ok(updates.some((u) => u.some((s) => s.state === 'running' && s.progress > 0 && s.progress < 1)));
});

test('silence settings are honoured: nothing is cut when no pause is as long as the minimum, and a run from scratch leaves no edit of an earlier run', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mkv'));
  const outputDir = path.join(dir, 'outputs');
  // An earlier run with other settings cut the pauses and wrote an edit.
  const earlier = await runPipeline(input, outputDir, settings);
  assert.equal(earlier.report.edited_output, 'edited.mp4');
  const { report, outputs } = await runPipeline(input, outputDir, { ...settings, silenceMinSeconds: 2.5 });
  await assert.rejects(stat(path.join(outputDir, 'edited.mp4')), { code: 'ENOENT' });
  assert.deepEqual(report.silences, []);
  assert.equal(report.segments_removed, 0);
  assert.equal(report.edited_output, null);
  assert.equal(report.edited_duration, report.original_duration);
  assert.ok(!outputs.some((o) => o.name === 'edited.mp4'));
  // An MKV with H.264/AAC is remuxed to MP4, not transcoded.
  assert.equal(report.media.container, 'matroska,webm');
  assert.equal(report.web.video, 'copy');
});

test('codecs a browser cannot play are transcoded to H.264/AAC for the web copy', async (t) => {
  const dir = await tempDir(t);
  const input = path.join(dir, 'old.mkv');
  await ffmpeg(
    ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=300'].concat([
      '-t',
      '2',
      '-c:v',
      'mpeg4',
      '-c:a',
      'pcm_s16le',
      input,
    ]),
  );
  const { report } = await runPipeline(input, path.join(dir, 'outputs'), settings);
  assert.equal(report.web.video, 'h264');
  assert.equal(report.web.audio, 'aac');
  const web = await probe(path.join(dir, 'outputs', 'web.mp4'));
  assert.deepEqual(web.streams.map((s) => s.codec_name).sort(), ['aac', 'h264']);
});

test('chapters start where the picture changes', async (t) => {
  const dir = await tempDir(t);
  const input = path.join(dir, 'scenes.mp4');
  // Three 4-second scenes of different brightness: cuts at 4 s and 8 s. (Red and green are too
  // alike in brightness for ffmpeg 5.1's scene score.) (ffmpeg 5.1 scores red →
  // green at exactly 0.4, so the test's threshold is below that.)
  await ffmpeg(
    ['-f', 'lavfi', '-i', 'color=c=red:size=320x240:rate=25:d=4']
      .concat(['-f', 'lavfi', '-i', 'color=c=white:size=320x240:rate=25:d=4'])
      .concat(['-f', 'lavfi', '-i', 'color=c=blue:size=320x240:rate=25:d=4'])
      .concat(['-f', 'lavfi', '-i', 'sine=frequency=500:duration=12'])
      .concat(['-filter_complex', '[0:v][1:v][2:v]concat=n=3:v=1:a=0[v]', '-map', '[v]', '-map', '3:a'])
      .concat(['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', input]),
  );
  const outputDir = path.join(dir, 'outputs');
  const { report, outputs } = await runPipeline(input, outputDir, {
    ...settings,
    chapters: true,
    chapterSettings: { sceneThreshold: 0.4, minChapterSeconds: 1 },
  });
  assert.ok(report.chapters);
  assert.deepEqual(
    report.chapters.map((c) => Math.round(c.start)),
    [0, 4, 8],
    JSON.stringify(report.chapters),
  );
  assert.ok(Math.abs(report.chapters[2]!.end - report.original_duration) < 0.01);
  const vtt = await readFile(path.join(outputDir, 'chapters.vtt'), 'utf8');
  assert.match(vtt, /^WEBVTT/);
  assert.match(vtt, /00:00:0[34]\.\d{3} --> 00:00:0[78]\.\d{3}/);
  assert.ok(outputs.some((o) => o.name === 'chapters.json'));
});

test('a step over its time limit fails with STEP_TIMEOUT and leaves no partial output', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'outputs');
  await assert.rejects(runPipeline(input, outputDir, { ...settings, stepTimeoutMs: 1 }), {
    code: 'STEP_TIMEOUT',
  });
  assert.deepEqual(await listOutputs(outputDir), []);
});

test('optional steps that fail (thumbnail, chapters over their limit) are recorded as failed, and the run still ends with a report that says so', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'outputs');
  const { report, outputs, steps } = await runPipeline(input, outputDir, {
    ...settings,
    chapters: true,
    stepTimeoutOverridesMs: { thumbnail: 1, chapters: 1 },
  });

  assert.deepEqual(
    steps.map((s) => [s.name, s.state, s.error?.code]),
    [
      ['probe', 'done', undefined],
      ['thumbnail', 'failed', 'STEP_TIMEOUT'],
      ['chapters', 'failed', 'STEP_TIMEOUT'],
      ['audio', 'done', undefined],
      ['transcribe', 'skipped', undefined],
      ['web', 'done', undefined],
      ['edit', 'done', undefined],
    ],
  );
  assert.deepEqual(
    report.failed_steps.map((f) => [f.name, f.code]),
    [
      ['thumbnail', 'STEP_TIMEOUT'],
      ['chapters', 'STEP_TIMEOUT'],
    ],
  );
  assert.ok(report.failed_steps.every((f) => f.message.length > 0));
  assert.equal(report.thumbnail, null);
  assert.equal(report.chapters, null);
  // The essential results are all there, and no file of a failed step is listed.
  assert.equal(report.segments_removed, 2);
  assert.deepEqual(
    outputs.map((o) => o.name),
    ['edited.mp4', 'report.json', 'timeline.json', 'web.mp4'],
  );
  const onDisk = JSON.parse(await readFile(path.join(outputDir, 'report.json'), 'utf8')) as {
    failed_steps: unknown;
  };
  assert.deepEqual(onDisk.failed_steps, JSON.parse(JSON.stringify(report.failed_steps)));
});

test('an essential step that fails (web over its limit) still fails the run, and later steps do not run', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  let last: StepRecord[] = [];
  await assert.rejects(
    runPipeline(
      input,
      path.join(dir, 'outputs'),
      { ...settings, chapters: true, stepTimeoutOverridesMs: { web: 1 } },
      { onUpdate: (s) => (last = s) },
    ),
    { code: 'STEP_TIMEOUT' },
  );
  assert.deepEqual(
    last.map((s) => [s.name, s.state]),
    [
      ['probe', 'done'],
      ['thumbnail', 'done'],
      ['chapters', 'done'],
      ['audio', 'done'],
      ['transcribe', 'skipped'],
      ['web', 'failed'],
      ['edit', 'pending'],
    ],
  );
});

test('resuming keeps finished steps whose files are intact and runs again those whose files are missing or changed', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'outputs');
  const first = await runPipeline(input, outputDir, settings);
  const recorded = (name: string): StepRecord => first.steps.find((s) => s.name === name)!;
  assert.deepEqual(recorded('web').outputs, [
    { name: 'web.mp4', size: (await stat(path.join(outputDir, 'web.mp4'))).size },
  ]);

  await rm(path.join(outputDir, 'web.mp4'));
  await appendFile(path.join(outputDir, 'contact-sheet.jpg'), 'extra bytes');
  const ran: string[] = [];
  const second = await runPipeline(input, outputDir, settings, {
    previous: first.steps,
    onUpdate: (steps) => {
      for (const s of steps) if (s.state === 'running' && !ran.includes(s.name)) ran.push(s.name);
    },
  });

  assert.deepEqual(ran, ['thumbnail', 'web']);
  const web = await probe(path.join(outputDir, 'web.mp4'));
  assert.ok(Math.abs(web.duration - first.report.original_duration) < 0.1);
  const sheet = second.outputs.find((o) => o.name === 'contact-sheet.jpg');
  assert.equal(sheet?.size, first.outputs.find((o) => o.name === 'contact-sheet.jpg')?.size);
  assert.deepEqual(
    second.steps.find((s) => s.name === 'edit'),
    recorded('edit'),
  );

  // A step recorded without its files' sizes (an older run) cannot be checked, so it runs again.
  const { outputs: _outputs, ...withoutSizes } = recorded('edit');
  ran.length = 0;
  await runPipeline(input, outputDir, settings, {
    previous: second.steps.map((s) => (s.name === 'edit' ? withoutSizes : s)),
    onUpdate: (steps) => {
      for (const s of steps) if (s.state === 'running' && !ran.includes(s.name)) ran.push(s.name);
    },
  });
  assert.deepEqual(ran, ['edit']);
});

test('a stored step result of another shape (an older version of the code) is run again, not resumed with wrong data', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'outputs');
  const first = await runPipeline(input, outputDir, settings);
  // As an older release might have stored them: the audio result with its silences under another
  // name, and the probe result with a duration given as text.
  const previous = first.steps.map((s): StepRecord => {
    if (s.name === 'audio') {
      const { silences, ...rest } = s.result as { silences: unknown };
      return { ...s, result: { ...rest, silence_list: silences } };
    }
    if (s.name === 'probe') return { ...s, result: { ...(s.result as object), durationSeconds: '11.5' } };
    return s;
  });
  const ran: string[] = [];
  const second = await runPipeline(input, outputDir, settings, {
    previous,
    onUpdate: (steps) => {
      for (const s of steps) if (s.state === 'running' && !ran.includes(s.name)) ran.push(s.name);
    },
  });
  assert.deepEqual(ran, ['probe', 'audio']);
  assert.deepEqual(second.report.silences, first.report.silences);
  assert.equal(second.report.original_duration, first.report.original_duration);
  assert.equal(
    typeof (second.steps.find((s) => s.name === 'probe')?.result as { durationSeconds: unknown })
      .durationSeconds,
    'number',
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ffprobePath } from '../../src/media/index.js';
import {
  FfmpegRecorder,
  parseFfmpegSource,
  segmentFolderFor,
  type RecordingFinishedEvent,
  type RecordingSegmentEvent,
} from '../../src/recorder/index.js';
import { probeRecording } from '../../src/sessions/index.js';
import { isAppError } from '../../src/errors/index.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startXvfb, stopChild } from '../helpers/obs-studio.js';

const run = promisify(execFile);

/** The video stream's length as its frames tell it (frames ÷ rate), read with ffprobe from the file. */
async function framesDuration(file: string): Promise<number> {
  const { stdout } = await run(ffprobePath, [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_packets',
    '-show_entries',
    'stream=nb_read_packets,r_frame_rate',
    '-of',
    'json',
    file,
  ]);
  const stream = (JSON.parse(stdout) as { streams: Array<{ nb_read_packets: string; r_frame_rate: string }> })
    .streams[0];
  const [num, den] = (stream?.r_frame_rate ?? '0/1').split('/').map(Number);
  return Number(stream?.nb_read_packets ?? 0) / ((num ?? 0) / (den || 1));
}

// Durations are checked against what a user relies on — more than nothing, no longer than the
// time it ran, and the same as the frames in the file — never against a wall-clock tolerance:
// on a loaded machine ffmpeg captures fewer seconds of a paced source than the wall clock.
test('a testsrc recording is a finalised Matroska file with video and audio whose duration matches its frames', async (t) => {
  const dir = await tempDir(t);
  const recorder = new FfmpegRecorder({ source: 'testsrc' });
  t.after(() => recorder.close());
  await recorder.start();
  const began = Date.now();
  const started = await recorder.startRecording({ directory: dir, baseName: 'my session 2026' });
  assert.equal(started.outputPath, path.join(dir, 'my session 2026.mkv'));
  assert.equal(recorder.status().recording, true);
  await sleep(3000);
  const finished = await recorder.stopRecording();
  const ranSeconds = (Date.now() - began) / 1000;
  assert.equal(finished.outputPath, started.outputPath);
  assert.equal(finished.external, false);
  assert.equal(finished.interrupted, false);
  assert.equal(recorder.status().recording, false);

  const probe = await probeRecording(finished.outputPath);
  assert.ok(probe.duration > 0, `duration ${probe.duration} s`);
  assert.ok(probe.duration <= ranSeconds + 0.5, `duration ${probe.duration} s after ${ranSeconds} s`);
  const frames = await framesDuration(finished.outputPath);
  assert.ok(Math.abs(probe.duration - frames) <= 0.2, `duration ${probe.duration} s, frames ${frames} s`);
  assert.match(probe.technical.container ?? '', /matroska/);
  assert.equal(probe.technical.video?.codec, 'h264');
  assert.equal(probe.technical.audio?.codec, 'aac');
  assert.equal(probe.size, (await stat(finished.outputPath)).size);
});

test('starting twice, or stopping while idle, is a clear error', async (t) => {
  const dir = await tempDir(t);
  const recorder = new FfmpegRecorder({ source: 'testsrc' });
  t.after(() => recorder.close());
  await assert.rejects(recorder.stopRecording(), (e) => isAppError(e) && e.code === 'NOT_RECORDING');
  await recorder.startRecording({ directory: dir, baseName: 'a' });
  await assert.rejects(
    recorder.startRecording({ directory: dir, baseName: 'b' }),
    (e) => isAppError(e) && e.code === 'ALREADY_RECORDING',
  );
  await recorder.stopRecording();
});

test('a url: source records a live input and reports the file when the input ends by itself', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip(path.join(dir, 'live input.mkv'), { seconds: 2, format: 'matroska' });
  const recorder = new FfmpegRecorder({ source: `url:${input}` });
  t.after(() => recorder.close());
  const finishedEvent = once(recorder, 'finished') as Promise<[RecordingFinishedEvent]>;
  await recorder.startRecording({ directory: path.join(dir, 'out'), baseName: 'stream' });
  const [finished] = await finishedEvent;
  assert.equal(finished.external, true, 'ended by the source, not by us');
  assert.equal(finished.interrupted, false);
  const probe = await probeRecording(finished.outputPath);
  const source = await probeRecording(input);
  // The whole input, copied: as long as the input (within a frame at 25 fps), however busy the machine.
  assert.ok(
    Math.abs(probe.duration - source.duration) <= 0.05,
    `duration ${probe.duration} s of ${source.duration} s`,
  );
  assert.equal(probe.technical.video?.codec, 'h264', 'copied, not re-encoded');
});

test('a source that cannot be opened fails the start with RECORDER_UNAVAILABLE', async (t) => {
  const dir = await tempDir(t);
  const recorder = new FfmpegRecorder({ source: 'url:/nonexistent/input.mkv' });
  t.after(() => recorder.close());
  await assert.rejects(
    recorder.startRecording({ directory: dir, baseName: 'x' }),
    (e) => isAppError(e) && e.code === 'RECORDER_UNAVAILABLE' && /nonexistent/.test(e.message),
  );
  assert.equal(recorder.status().recording, false);
});

test('the screen source records an X display (here a headless Xvfb)', async (t) => {
  const dir = await tempDir(t);
  const xvfb = await startXvfb(20_000);
  t.after(() => stopChild(xvfb.child, 2000));
  const recorder = new FfmpegRecorder({ source: `screen:${xvfb.display}` });
  t.after(() => recorder.close());
  await recorder.startRecording({ directory: dir, baseName: 'screen' });
  await sleep(1000);
  const finished = await recorder.stopRecording();
  const probe = await probeRecording(finished.outputPath);
  assert.equal(probe.technical.video?.codec, 'h264');
  assert.equal(probe.technical.video?.width, 1280);
  assert.equal(probe.technical.video?.height, 720);
});

test('FFMPEG_SOURCE forms are parsed, and unknown ones refused', () => {
  assert.deepEqual(parseFfmpegSource('testsrc'), { type: 'testsrc' });
  assert.deepEqual(parseFfmpegSource('screen'), { type: 'screen', display: null });
  assert.deepEqual(parseFfmpegSource('screen::99'), { type: 'screen', display: ':99' });
  assert.deepEqual(parseFfmpegSource('v4l2:/dev/video0'), { type: 'v4l2', device: '/dev/video0' });
  assert.deepEqual(parseFfmpegSource('url:rtmp://host/app/key'), {
    type: 'url',
    input: 'rtmp://host/app/key',
  });
  assert.throws(
    () => parseFfmpegSource('webcam'),
    (e) => isAppError(e) && e.code === 'BAD_REQUEST',
  );
  assert.throws(
    () => parseFfmpegSource('url:'),
    (e) => isAppError(e) && e.code === 'BAD_REQUEST',
  );
});

test('with segments, each part is reported as soon as it is closed, while recording goes on, and each plays on its own', async (t) => {
  const dir = await tempDir(t);
  const recorder = new FfmpegRecorder({ source: 'testsrc', segmentSeconds: 1 });
  t.after(() => recorder.close());
  const parts: RecordingSegmentEvent[] = [];
  recorder.on('segment', (s) => parts.push(s));
  const started = await recorder.startRecording({ directory: dir, baseName: 'segmented' });
  // Parts arrive while ffmpeg still records (however slow the machine, two are bounded in time).
  const deadline = Date.now() + 30_000;
  while (parts.length < 2 && Date.now() < deadline) await sleep(100);
  assert.ok(parts.length >= 2, `${parts.length} parts while recording`);
  assert.equal(recorder.status().recording, true, 'still recording');
  const finished = await recorder.stopRecording();

  assert.equal(finished.outputPath, started.outputPath, 'the file the parts are joined into');
  assert.deepEqual(
    finished.segments,
    parts.map((p) => p.path),
    'every closed part, in order, reported once',
  );
  assert.deepEqual(
    parts.map((p) => p.index),
    parts.map((_, i) => i),
  );
  for (const part of parts) {
    assert.equal(path.dirname(part.path), segmentFolderFor(finished.outputPath));
    assert.match(path.basename(part.path), /^part\d{5}\.ts$/, 'encoded parts are MPEG-TS');
    const probe = await probeRecording(part.path);
    assert.ok(probe.duration > 0);
    assert.equal(probe.technical.video?.codec, 'h264');
    assert.equal(probe.technical.audio?.codec, 'aac');
  }
});

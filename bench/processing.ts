// `npm run bench:processing`: makes a 1-minute 720p30 clip (test pattern, speech-like tone with
// pauses) and times each processing step on it, printing seconds of processing per minute of
// video and the real-time factor (processing time / video duration; below 1 is faster than real time).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../src/media/index.js';
import {
  analyseAudio,
  detectChapters,
  DEFAULT_CHAPTER_SETTINGS,
  makeEdit,
  makeThumbnails,
  makeWebVersion,
  probeMedia,
} from '../src/processing/index.js';

const run = promisify(execFile);
const SECONDS = 60;
const limits = { timeoutMs: 3600_000 };

const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-'));
try {
  const input = path.join(dir, 'bench-720p30.mp4');
  // Tone with a 1.5 s pause every 10 s: six cuts for the edit step, as in a talk.
  const mute = Array.from({ length: 6 }, (_, i) => `between(t,${i * 10 + 6},${i * 10 + 7.5})`).join('+');
  await run(ffmpegPath, [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'],
    ...['-filter_complex', `[1:a]volume=enable='${mute}':volume=0[a]`, '-map', '0:v', '-map', '[a]'],
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '128k', input],
  ]);

  const rows: Array<{ step: string; seconds: number }> = [];
  async function time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const result = await work();
    rows.push({ step, seconds: Number(process.hrtime.bigint() - started) / 1e9 });
    return result;
  }

  const media = await time('probe (ffprobe + demux check)', () => probeMedia(input, limits));
  await time('thumbnail + 3x3 contact sheet', () => makeThumbnails(input, dir, media, limits));
  await time('web (remux, H.264/AAC in)', () => makeWebVersion(input, dir, media, limits));
  // The same clip as if its codecs were not browser-playable: the transcode path.
  const foreign = { ...media, video: media.video && { ...media.video, codec: 'not-browser-playable' } };
  await time('web (transcode to H.264/AAC)', () => makeWebVersion(input, dir, foreign, limits));
  const audio = await time('audio (EBU R128 + silencedetect)', () =>
    analyseAudio(input, media, { thresholdDb: -30, minSeconds: 1 }, limits),
  );
  await time(`edit (${audio.silences.length} cuts, H.264/AAC encode)`, () =>
    makeEdit(input, dir, media, audio.silences, { padSeconds: 0.05 }, limits),
  );
  await time('chapters (scene detection)', () =>
    detectChapters(input, dir, media, DEFAULT_CHAPTER_SETTINGS, limits),
  );

  const total = rows.reduce((sum, r) => sum + r.seconds, 0) - (rows[3]?.seconds ?? 0);
  console.log(
    `processing benchmark: ${SECONDS} s of 1280x720 @ 30 fps, ${cpus().length} cores (${cpus()[0]?.model ?? '?'})`,
  );
  console.log('step                                   | s per min of video | real-time factor');
  console.log('---------------------------------------|--------------------|-----------------');
  for (const r of rows) {
    console.log(
      `${r.step.padEnd(38)} | ${((r.seconds * 60) / SECONDS).toFixed(2).padStart(18)} | ${(r.seconds / SECONDS).toFixed(3).padStart(16)}`,
    );
  }
  console.log(
    `${'whole pipeline (remux path)'.padEnd(38)} | ${((total * 60) / SECONDS).toFixed(2).padStart(18)} | ${(total / SECONDS).toFixed(3).padStart(16)}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}

// `npm run bench:processing`: makes a 1-minute 720p30 clip (test pattern, a tone with pauses; a
// keyframe every 2 s, OBS's default for streaming) and times each processing step on it, then
// the issue-14 targets as ratios measured in this same run: the smart-cut edit against a full
// re-encode of the same clip, the whole pipeline (remux path, default settings) per second of
// video, and thumbnail + contact sheet per minute of video.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describeMediaTools, ffmpegPath } from '../src/media/index.js';
import {
  analyseAudio,
  detectChapters,
  DEFAULT_CHAPTER_SETTINGS,
  makeEdit,
  makeThumbnails,
  makeWebVersion,
  probeMedia,
  runPipeline,
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
    ...['-t', String(SECONDS), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '60', '-pix_fmt', 'yuv420p'],
    ...['-c:a', 'aac', '-b:a', '128k', input],
  ]);

  // Two clocks per step: wall time, and "work" = CPU seconds (user + system) of the ffmpeg/ffprobe
  // children the step ran, from /proc/self/stat's cutime + cstime. On a shared, loaded machine the
  // wall time mostly measures the queue for a core; the work is what the step costs. Targets are
  // checked on the work, the wall time is printed beside it.
  const rows: Array<{ step: string; seconds: number; work: number }> = [];
  async function time<T>(step: string, work: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const cpuBefore = childCpuSeconds();
    const result = await work();
    rows.push({
      step,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      work: childCpuSeconds() - cpuBefore,
    });
    return result;
  }
  const secondsOf = (step: string): number => rows.find((r) => r.step === step)?.work ?? NaN;

  const media = await time('probe (ffprobe + demux check)', () => probeMedia(input, limits));
  await time('thumbnail + contact sheet + sprite', () => makeThumbnails(input, dir, media, limits));
  await time('web (remux, H.264/AAC in)', () => makeWebVersion(input, dir, media, limits));
  // The same clip as if its codecs were not browser-playable: the transcode path.
  const foreign = { ...media, video: media.video && { ...media.video, codec: 'not-browser-playable' } };
  await time('web (transcode to H.264/AAC)', () => makeWebVersion(input, dir, foreign, limits));
  const audio = await time('audio (EBU R128 + silencedetect)', () =>
    analyseAudio(input, media, { thresholdDb: -30, minSeconds: 1 }, limits),
  );
  const smart = await time(`edit, smart cut (${audio.silences.length} cuts)`, () =>
    makeEdit(input, dir, media, audio.silences, { padSeconds: 0.05 }, limits),
  );
  await time('edit, full re-encode (reference)', () =>
    makeEdit(input, dir, media, audio.silences, { padSeconds: 0.05, mode: 'reencode' }, limits),
  );
  await time('chapters (scene detection, optional)', () =>
    detectChapters(input, dir, media, DEFAULT_CHAPTER_SETTINGS, limits),
  );
  await time('whole pipeline, remux path (defaults)', () =>
    runPipeline(input, path.join(dir, 'pipeline'), {
      stepTimeoutMs: 3600_000,
      silenceThresholdDb: -30,
      silenceMinSeconds: 1,
      chapters: false,
    }),
  );

  console.log(
    `processing benchmark: ${SECONDS} s of 1280x720 @ 30 fps (GOP 2 s), ${cpus().length} cores ` +
      `(${cpus()[0]?.model ?? '?'}), load ${loadavg()[0]?.toFixed(1)}, ${describeMediaTools()}`,
  );
  console.log(
    `edit mode: ${smart.edit_mode} (${smart.reencoded_seconds} s of video and ` +
      `${smart.audio_reencoded_seconds ?? '?'} s of audio re-encoded, audio moved at most ` +
      `${((smart.audio_max_shift_seconds ?? 0) * 1000).toFixed(1)} ms against its video)`,
  );
  console.log(
    'step                                     | work s per min of video | wall s per min | wall real-time factor',
  );
  console.log(
    '-----------------------------------------|-------------------------|----------------|----------------------',
  );
  for (const r of rows) {
    console.log(
      `${r.step.padEnd(40)} | ${((r.work * 60) / SECONDS).toFixed(2).padStart(23)} | ${((r.seconds * 60) / SECONDS).toFixed(2).padStart(14)} | ${(r.seconds / SECONDS).toFixed(3).padStart(20)}`,
    );
  }
  const targets = [
    {
      name: 'edit: smart cut / full re-encode of the same clip',
      value:
        secondsOf(`edit, smart cut (${audio.silences.length} cuts)`) /
        secondsOf('edit, full re-encode (reference)'),
      limit: 0.2,
      unit: '×',
    },
    {
      name: 'whole pipeline, remux path: s per s of video',
      value: secondsOf('whole pipeline, remux path (defaults)') / SECONDS,
      limit: 0.15,
      unit: 's/s',
    },
    {
      name: 'thumbnail + contact sheet: s per min of video',
      value: (secondsOf('thumbnail + contact sheet + sprite') * 60) / SECONDS,
      limit: 0.5,
      unit: 's/min',
    },
  ];
  console.log('\ntarget (on work)                                 | measured | limit | ');
  for (const t of targets) {
    console.log(
      `${t.name.padEnd(47)} | ${t.value.toFixed(3).padStart(8)} | ${`≤ ${t.limit}`.padStart(6)} ${t.unit} | ${t.value <= t.limit ? 'met' : 'NOT MET'}`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** CPU seconds used so far by this process's finished children (Linux: /proc/self/stat). */
function childCpuSeconds(): number {
  // Fields after the ")" of the command name: cutime and cstime are the 14th and 15th of them.
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ on Linux
  return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond;
}

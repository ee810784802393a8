import { writeFile, readFile, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ffprobePath } from '../../src/media/index.js';
import { ffmpeg } from '../helpers/make-media.js';

const run = promisify(execFile);

/** Where the silences of the speech-like clip are, in seconds (the truth the tests check against). */
export const TALK_SILENCES = [
  { start: 3, end: 5 },
  { start: 8, end: 9.5 },
];
export const TALK_DURATION = 11.5;

/**
 * tone 3 s, silence 2 s, tone 3 s, silence 1.5 s, tone 2 s (11.5 s) over a test pattern, as the
 * issue describes: the tone is muted exactly in the TALK_SILENCES stretches.
 */
export async function makeTalkClip(
  file: string,
  options: { width?: number; height?: number; rate?: number } = {},
): Promise<string> {
  const { width = 320, height = 240, rate = 25 } = options;
  const mute = TALK_SILENCES.map((s) => `between(t,${s.start},${s.end})`).join('+');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${width}x${height}:rate=${rate}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-filter_complex',
    `[1:a]volume=enable='${mute}':volume=0[a]`,
    '-map',
    '0:v',
    '-map',
    '[a]',
    '-t',
    String(TALK_DURATION),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    '96k',
    file,
  ]);
  return file;
}

/** The first half of a real recording: what a crashed or cut-off upload leaves behind. */
export async function makeTruncatedCopy(source: string, file: string): Promise<string> {
  const bytes = await readFile(source);
  await writeFile(file, bytes.subarray(0, Math.floor(bytes.length / 2)));
  return file;
}

/** What ffprobe (independently of the code under test) says about a file. */
export async function probe(file: string): Promise<{
  duration: number;
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  formatName: string;
}> {
  const { stdout } = await run(ffprobePath, [
    '-v',
    'error',
    '-show_format',
    '-show_streams',
    '-of',
    'json',
    file,
  ]);
  const parsed = JSON.parse(stdout) as {
    format: { duration: string; format_name: string };
    streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
  };
  return {
    duration: Number(parsed.format.duration),
    streams: parsed.streams,
    formatName: parsed.format.format_name,
  };
}

/** Whether an MP4's index (moov) comes before its media data (mdat): it can play while downloading. */
export async function isFastStart(file: string): Promise<boolean> {
  const bytes = await readFile(file);
  const moov = bytes.indexOf('moov');
  const mdat = bytes.indexOf('mdat');
  return moov >= 0 && mdat >= 0 && moov < mdat;
}

/** Size of a file in bytes. */
export async function sizeOf(file: string): Promise<number> {
  return (await stat(file)).size;
}

/** Whether a pid has exited (polled: the kernel delivers the parent-death signal asynchronously). */
export async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 200; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    await delay(25);
  }
  return false;
}

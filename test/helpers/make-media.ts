import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../src/media/index.js';

const run = promisify(execFile);

/** Makes a short real video (test pattern + tone) with the packaged ffmpeg. */
export async function makeClip(
  file: string,
  options: {
    seconds?: number;
    width?: number;
    height?: number;
    rate?: number;
    format?: 'matroska' | 'mp4' | 'mpegts';
  } = {},
): Promise<string> {
  const { seconds = 2, width = 320, height = 240, rate = 25, format } = options;
  await run(
    ffmpegPath,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${width}x${height}:rate=${rate}`,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
      '-t',
      String(seconds),
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
      ...(format ? ['-f', format] : []),
      file,
    ],
    { maxBuffer: 1024 * 1024 },
  );
  return file;
}

/** Runs the packaged ffmpeg with the given arguments (quiet, overwriting). */
export async function ffmpeg(args: string[]): Promise<void> {
  await run(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1024 * 1024 });
}

/**
 * A video of raw frames (testsrc, yuv420p, Matroska): big for its length (about 2.9 MB per second
 * at 320x240) without costing an encode, and a real video to ffprobe. For upload sizes.
 */
export async function makeRawVideo(file: string, seconds: number, size = '320x240'): Promise<string> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    `testsrc=size=${size}:rate=25`,
    '-t',
    String(seconds),
    '-c:v',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    file,
  ]);
  return file;
}

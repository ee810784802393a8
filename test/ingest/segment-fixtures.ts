import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ffmpeg } from '../helpers/make-media.js';

/** A recording of `seconds` (6) written as closed 2-second Matroska segments, as the recorder does. */
export async function recordSegments(dir: string, seconds = 6): Promise<string[]> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=320x240:rate=25',
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
    '-g',
    '25',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-f',
    'segment',
    '-segment_time',
    '2',
    '-reset_timestamps',
    '1',
    path.join(dir, 'talk_%03d.mkv'),
  ]);
  return (await readdir(dir))
    .filter((f) => f.startsWith('talk_'))
    .sort()
    .map((f) => path.join(dir, f));
}

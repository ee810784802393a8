import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ffmpegPath, ffprobePath } from '../../src/media/index.js';
import { ffmpeg } from '../helpers/make-media.js';

const run = promisify(execFile);

/** Silences of the marker clip (cut by the edit), and the markers on both sides of each cut. */
export const MARKER_SILENCES = [
  { start: 3, end: 5, duration: 2 },
  { start: 8, end: 9.5, duration: 1.5 },
];
// 30 fps, a keyframe every 2 s: the markers fall in copied GOPs (1.0, 7.5, 10.5) and in the
// re-encoded heads and tails around the cuts (2.5, 5.5, 9.7).
export const MARKERS = [1.0, 2.5, 5.5, 7.5, 9.7, 10.5];
export const MARKER_DURATION = 12;
export const MARKER_FPS = 30;

/**
 * A 12 s 320×240 30 fps H.264 (High, B-frames, GOP 2 s) + AAC clip: dim test pattern with one
 * white frame at each marker, a quiet 440 Hz tone muted in the silences, and a loud 1 kHz beep
 * of 30 ms starting at each marker. After any edit, flash and beep must still coincide.
 */
export async function makeMarkerClip(file: string): Promise<string> {
  const flashes = MARKERS.map((t) => `between(t,${t},${t + 0.02})`).join('+');
  const beeps = MARKERS.map((t) => `between(t,${t},${t + 0.03})`).join('+');
  const muted = MARKER_SILENCES.map((s) => `between(t,${s.start},${s.end})`).join('-');
  await ffmpeg(
    ['-f', 'lavfi', '-i', `testsrc2=size=320x240:rate=${MARKER_FPS}:duration=${MARKER_DURATION}`].concat(
      ['-f', 'lavfi', '-i'],
      [
        `aevalsrc='0.05*sin(2*PI*440*t)*(1-${muted})+0.9*sin(2*PI*1000*t)*(${beeps})':s=48000:d=${MARKER_DURATION}`,
      ],
      ['-vf', `lutyuv=y=val*0.3,drawbox=color=white:t=fill:enable='${flashes}'`],
      ['-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-g', '60', '-keyint_min', '60'],
      ['-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', file],
    ),
  );
  return file;
}

/** Times of the white frames of a file (luma average far above the dim pattern's). */
export async function flashTimes(file: string): Promise<number[]> {
  const { stderr } = await run(
    ffmpegPath,
    [
      '-hide_banner',
      '-i',
      file,
      '-map',
      '0:v:0',
      '-vf',
      'signalstats,metadata=print:key=lavfi.signalstats.YAVG',
    ].concat(['-f', 'null', '-']),
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const times: number[] = [];
  let pts: number | undefined;
  for (const line of stderr.split('\n')) {
    const frame = /pts_time:(-?[\d.]+)/.exec(line);
    if (frame) pts = Number(frame[1]);
    const avg = /YAVG=([\d.]+)/.exec(line);
    if (avg && pts !== undefined && Number(avg[1]) > 150) times.push(pts);
  }
  return times;
}

/** A file's first audio stream decoded to 48 kHz mono float samples. */
export async function decodeMono(file: string): Promise<Float32Array> {
  const { stdout } = await run(
    ffmpegPath,
    ['-v', 'error', '-i', file, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 'f32le', '-'],
    { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
  );
  // A copy: the Buffer's bytes may not sit on a 4-byte boundary.
  return new Float32Array(new Uint8Array(stdout).buffer, 0, Math.floor(stdout.length / 4));
}

/** Start times of the loud beeps of a file's audio (decoded to 48 kHz mono samples). */
export async function beepTimes(file: string): Promise<number[]> {
  const samples = await decodeMono(file);
  const onsets: number[] = [];
  let lastLoud = -Infinity;
  for (let i = 0; i < samples.length; i += 1) {
    if (Math.abs(samples[i] ?? 0) < 0.4) continue;
    // A new beep: nothing loud in the 100 ms before.
    if (i - lastLoud > 4800) onsets.push(i / 48000);
    lastLoud = i;
  }
  return onsets;
}

/** The sha256 of every packet of a file's first video (or audio) stream, with its time and key flag. */
export async function videoPackets(
  file: string,
  stream: 'v:0' | 'a:0' = 'v:0',
): Promise<Array<{ pts: number; key: boolean; hash: string }>> {
  const { stdout } = await run(
    ffprobePath,
    ['-v', 'error', '-select_streams', stream, '-show_packets', '-show_data_hash', 'sha256'].concat([
      '-show_entries',
      'packet=pts_time,flags,data_hash',
      '-of',
      'csv=p=0',
      file,
    ]),
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [pts, flags, hash] = line.split(',');
      return { pts: Number(pts), key: (flags ?? '').startsWith('K'), hash: hash ?? '' };
    });
}

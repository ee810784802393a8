import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import { writeOutput } from './step-output.js';
import type { MediaInfo } from './probe-step.js';

/** Output name of the web step. */
export const WEB_NAME = 'web.mp4';

/** How the web copy was made, per stream: copied as is, or transcoded to H.264/AAC. */
export interface WebResult {
  path: string;
  video: 'copy' | 'h264' | null;
  audio: 'copy' | 'aac' | null;
  /** A soft subtitle track (MP4 timed text) made from the transcript; null when there is none. */
  subtitles: 'mov_text' | null;
}

/** ISO 639-2 codes MP4 wants for a track's language, from the transcript's two-letter ones. */
const LANGUAGE_639_2: Record<string, string> = {
  en: 'eng',
  fr: 'fra',
  de: 'deu',
  es: 'spa',
  it: 'ita',
  pt: 'por',
  nl: 'nld',
};

// What every browser plays inside MP4: 8-bit 4:2:0 H.264, and AAC or MP3 audio.
const PLAYABLE_PIXEL_FORMATS = new Set(['yuv420p', 'yuvj420p']);
const PLAYABLE_AUDIO = new Set(['aac', 'mp3']);

/**
 * web: an MP4 with its index at the front (`+faststart`) so a browser can start playing before
 * the download ends. Streams a browser can already play are copied (a remux: fast, lossless);
 * the others are transcoded to H.264/AAC.
 */
export async function makeWebVersion(
  input: string,
  outputDir: string,
  media: MediaInfo,
  limits: RunLimits,
  subtitles: { file: string; language: string } | null = null,
): Promise<WebResult> {
  const v = media.video;
  const a = media.audio;
  const video = v
    ? v.codec === 'h264' && PLAYABLE_PIXEL_FORMATS.has(v.pixelFormat ?? '')
      ? 'copy'
      : 'h264'
    : null;
  const audio = a ? (PLAYABLE_AUDIO.has(a.codec) ? 'copy' : 'aac') : null;

  const args = ['-v', 'error', '-i', input];
  if (subtitles) args.push('-i', subtitles.file);
  if (video) args.push('-map', '0:v:0');
  if (audio) args.push('-map', '0:a:0');
  if (subtitles) {
    const language = LANGUAGE_639_2[subtitles.language] ?? 'und';
    args.push('-map', '1:s:0', '-c:s', 'mov_text', '-metadata:s:s:0', `language=${language}`);
  }
  if (video === 'copy') args.push('-c:v', 'copy');
  if (video === 'h264') args.push(...h264EncoderArgs(), '-vf', EVEN_DIMENSIONS);
  if (audio === 'copy') args.push('-c:a', 'copy');
  if (audio === 'aac') args.push('-c:a', 'aac', '-b:a', '160k');
  if (!subtitles) args.push('-sn');
  args.push('-dn', '-movflags', '+faststart', '-f', 'mp4');

  const path = await writeOutput(outputDir, WEB_NAME, async (tmp) => {
    await runFfmpeg([...args, tmp], { ...limits, durationSeconds: media.durationSeconds });
  });
  return { path, video, audio, subtitles: subtitles ? 'mov_text' : null };
}

/** H.264 encoder settings shared by the web copy and the edit: 4:2:0 so that every browser plays it. */
export function h264EncoderArgs(): string[] {
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
}

/** libx264 with 4:2:0 needs even dimensions. */
export const EVEN_DIMENSIONS = 'scale=trunc(iw/2)*2:trunc(ih/2)*2';

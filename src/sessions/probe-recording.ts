import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { ffmpegPath, ffprobePath } from '../media/index.js';

const run = promisify(execFile);

const probeSchema = z.object({
  format: z
    .object({
      format_name: z.string().optional(),
      duration: z.string().optional(),
      bit_rate: z.string().optional(),
    })
    .optional(),
  streams: z
    .array(
      z.object({
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
        avg_frame_rate: z.string().optional(),
        sample_rate: z.string().optional(),
        channels: z.number().optional(),
      }),
    )
    .default([]),
});

/** What the station keeps about a recorded file: measured from the file, never assumed. */
export interface RecordingProbe {
  duration: number;
  size: number;
  technical: {
    container: string | null;
    bitRate: number | null;
    video: { codec: string | null; width: number | null; height: number | null; fps: number | null } | null;
    audio: { codec: string | null; sampleRate: number | null; channels: number | null } | null;
  };
}

function fraction(text: string | undefined): number | null {
  if (!text) return null;
  const [a, b] = text.split('/').map(Number);
  if (a === undefined || !Number.isFinite(a)) return null;
  const value = b === undefined ? a : b === 0 ? NaN : a / b;
  return Number.isFinite(value) && value > 0 ? Math.round(value * 1000) / 1000 : null;
}

function numberOrNull(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) ? n : null;
}

/**
 * Validates a recording with ffprobe and measures it. A file ffprobe cannot read, or one with
 * no audio or video stream, is NOT_A_MEDIA_FILE / CORRUPT_MEDIA. A file cut short (OBS killed)
 * has no duration in its header; the duration then comes from its last packet.
 */
export async function probeRecording(file: string, ffprobe = ffprobePath): Promise<RecordingProbe> {
  const { size } = await stat(file).catch((error: unknown) => {
    throw new AppError('FILE_NOT_FOUND', `recording not found: ${file}`, { cause: error });
  });
  if (size === 0) throw new AppError('EMPTY_FILE', `recording is empty: ${file}`);
  let parsed: z.infer<typeof probeSchema>;
  try {
    const { stdout } = await run(
      ffprobe,
      ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file],
      { maxBuffer: 8 * 1024 * 1024, timeout: 60_000 },
    );
    parsed = probeSchema.parse(JSON.parse(stdout));
  } catch (error) {
    throw new AppError('NOT_A_MEDIA_FILE', `ffprobe cannot read ${file}`, { cause: error });
  }
  const video = parsed.streams.find((s) => s.codec_type === 'video');
  const audio = parsed.streams.find((s) => s.codec_type === 'audio');
  if (!video && !audio) throw new AppError('NOT_A_MEDIA_FILE', `no audio or video in ${file}`);

  let duration = numberOrNull(parsed.format?.duration);
  if (duration === null || duration <= 0) duration = await durationFromPackets(file, ffprobe);
  if (duration === null || duration <= 0) {
    throw new AppError('CORRUPT_MEDIA', `cannot tell how long ${file} is: it holds no readable frames`);
  }
  return {
    duration: Math.round(duration * 1000) / 1000,
    size,
    technical: {
      container: parsed.format?.format_name ?? null,
      bitRate: numberOrNull(parsed.format?.bit_rate),
      video: video
        ? {
            codec: video.codec_name ?? null,
            width: video.width ?? null,
            height: video.height ?? null,
            fps: fraction(video.avg_frame_rate),
          }
        : null,
      audio: audio
        ? {
            codec: audio.codec_name ?? null,
            sampleRate: numberOrNull(audio.sample_rate),
            channels: audio.channels ?? null,
          }
        : null,
    },
  };
}

/** The end time of the last packet, for files whose header never got a duration. */
async function durationFromPackets(file: string, ffprobe: string): Promise<number | null> {
  try {
    const { stdout } = await run(
      ffprobe,
      ['-v', 'error', '-show_entries', 'packet=pts_time,duration_time', '-of', 'csv=p=0', file],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
    );
    let end = 0;
    for (const line of stdout.split('\n')) {
      const [pts, dur] = line.split(',').map(Number);
      if (pts !== undefined && Number.isFinite(pts))
        end = Math.max(end, pts + (Number.isFinite(dur) ? (dur ?? 0) : 0));
    }
    return end > 0 ? end : null;
  } catch {
    return null;
  }
}

/** Writes a 320-pixel-wide JPEG of the frame at `atSeconds` (clamped into the recording). */
export async function makeThumbnail(
  file: string,
  output: string,
  durationSeconds: number,
  ffmpeg = ffmpegPath,
): Promise<void> {
  const at = Math.max(0, Math.min(1, durationSeconds / 2));
  try {
    await run(
      ffmpeg,
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-y',
        '-ss',
        at.toFixed(3),
        '-i',
        file,
        '-frames:v',
        '1',
        '-vf',
        'scale=320:-2',
        '-q:v',
        '4',
        '-f',
        'image2',
        output,
      ],
      { maxBuffer: 1024 * 1024, timeout: 60_000 },
    );
  } catch (error) {
    throw new AppError('FFMPEG_FAILED', `could not make a thumbnail of ${file}`, { cause: error });
  }
  const { size } = await stat(output).catch(() => ({ size: 0 }));
  if (size === 0) throw new AppError('FFMPEG_FAILED', `ffmpeg wrote no thumbnail for ${file}`);
}

import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { runFfprobe, type RunLimits } from './run-ffmpeg.js';

/** What the smart cut needs to know about the first video stream, read without decoding. */
export interface VideoPackets {
  codec: string;
  /** ffprobe's profile name ("High", "Main", "Constrained Baseline", ...). */
  profile: string | null;
  /** ffprobe's level (e.g. 31 for 3.1), null when unknown. */
  level: number | null;
  pixelFormat: string | null;
  width: number;
  height: number;
  /** Denominator of the stream's time base (e.g. 15360 for 1/15360). */
  timeBaseDen: number | null;
  /** Every frame's presentation time, sorted, in seconds from the file's start (as -ss counts). */
  frames: number[];
  /** The keyframes' presentation times, sorted, same clock. */
  keyframes: number[];
  /**
   * Whether a keyframe is followed in decoding order by a frame shown before it (an open GOP): such
   * frames reference the previous GOP, so a copy cannot start at that keyframe.
   */
  openGop: boolean;
}

const streamSchema = z.object({
  streams: z
    .array(
      z.object({
        codec_name: z.string().optional(),
        profile: z.string().optional(),
        level: z.number().optional(),
        pix_fmt: z.string().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
        time_base: z.string().optional(),
      }),
    )
    .default([]),
  format: z.object({ start_time: z.string().optional() }).optional(),
});

/**
 * Lists the packets of the first video stream (presentation time and key flag, in decoding order)
 * with one ffprobe demux pass, plus the stream's codec, profile, level and time base.
 */
export async function readVideoPackets(input: string, limits: RunLimits): Promise<VideoPackets> {
  const info = await runFfprobe(
    ['-v', 'error', '-select_streams', 'v:0', '-show_entries'].concat([
      'stream=codec_name,profile,level,pix_fmt,width,height,time_base:format=start_time',
      '-of',
      'json',
      input,
    ]),
    limits,
  );
  const parsed = streamSchema.safeParse(safeJson(info.stdout));
  const stream = parsed.success ? parsed.data.streams[0] : undefined;
  if (info.code !== 0 || !parsed.success || !stream) {
    throw new AppError('FFMPEG_FAILED', 'could not read the video stream for the edit');
  }
  const start = Number(parsed.data.format?.start_time ?? 0) || 0;
  const listing = await runFfprobe(
    [
      '-v',
      'error',
      '-select_streams',
      'v:0',
      '-show_entries',
      'packet=pts_time,flags',
      '-of',
      'csv=p=0',
      input,
    ],
    limits,
  );
  if (listing.code !== 0)
    throw new AppError('FFMPEG_FAILED', 'could not list the video packets for the edit');
  const { frames, keyframes, openGop } = parsePacketList(listing.stdout, start);
  const den = Number(stream.time_base?.split('/')[1]);
  return {
    codec: stream.codec_name ?? 'unknown',
    profile: stream.profile ?? null,
    level: stream.level !== undefined && stream.level > 0 ? stream.level : null,
    pixelFormat: stream.pix_fmt ?? null,
    width: stream.width ?? 0,
    height: stream.height ?? 0,
    timeBaseDen: Number.isInteger(den) && den > 0 ? den : null,
    frames,
    keyframes,
    openGop,
  };
}

/** Reads ffprobe's `pts_time,flags` lines (decoding order) into sorted frame and keyframe times. */
export function parsePacketList(
  csv: string,
  startTime: number,
): { frames: number[]; keyframes: number[]; openGop: boolean } {
  const frames: number[] = [];
  const keyframes: number[] = [];
  let openGop = false;
  let lastKey: number | undefined;
  let sinceKey = 0;
  for (const line of csv.split('\n')) {
    const [ptsText, flags] = line.trim().split(',');
    const pts = Number(ptsText);
    if (!ptsText || ptsText === 'N/A' || !Number.isFinite(pts)) continue;
    const t = round6(pts - startTime);
    frames.push(t);
    if (flags?.startsWith('K')) {
      keyframes.push(t);
      lastKey = t;
      sinceKey = 0;
    } else if (lastKey !== undefined) {
      sinceKey += 1;
      // Within the few frames after a keyframe in decoding order, one shown before it is a leading picture.
      if (sinceKey <= 8 && t < lastKey) openGop = true;
    }
  }
  frames.sort((a, b) => a - b);
  keyframes.sort((a, b) => a - b);
  return { frames, keyframes, openGop };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

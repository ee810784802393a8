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
  /** The first audio stream's packets, as far as the audio smart cut needs them; null without audio. */
  audio: AudioPackets | null;
}

/** The first audio stream, read without decoding: enough to copy its packets between cuts. */
export interface AudioPackets {
  codec: string;
  /** ffprobe's profile name ("LC", "HE-AAC", ...). */
  profile: string | null;
  sampleRate: number;
  channels: number;
  bitRate: number | null;
  /** Presentation time of the first packet in samples from the file's start (negative: priming). */
  firstPts: number;
  /**
   * Where the first decoded sample sits, in samples from the file's start (the stream's start
   * time: after the priming the decoder drops). Decoded sample i is at firstSample + i.
   */
  firstSample: number;
  /** Number of packets. */
  count: number;
  /**
   * Whether packet k starts at firstPts + k × AAC_FRAME samples for every k (within the container's
   * timestamp rounding): then packets can be counted instead of listed.
   */
  contiguous: boolean;
}

/** Samples in one AAC-LC frame (one packet). */
export const AAC_FRAME = 1024;

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
        index: z.number().optional(),
        start_time: z.string().optional(),
        codec_type: z.string().optional(),
        sample_rate: z.union([z.string(), z.number()]).optional(),
        channels: z.number().optional(),
        bit_rate: z.union([z.string(), z.number()]).optional(),
      }),
    )
    .default([]),
  format: z.object({ start_time: z.string().optional() }).optional(),
});

/**
 * Lists the packets of the first video and audio streams (presentation time and key flag, in
 * decoding order) with one ffprobe demux pass, plus the streams' codec, profile, level, time base,
 * sample rate and channels.
 */
export async function readVideoPackets(input: string, limits: RunLimits): Promise<VideoPackets> {
  const info = await runFfprobe(
    ['-v', 'error', '-show_entries'].concat([
      'stream=index,codec_type,codec_name,profile,level,pix_fmt,width,height,time_base,start_time,sample_rate,channels,bit_rate:format=start_time',
      '-of',
      'json',
      input,
    ]),
    limits,
  );
  const parsed = streamSchema.safeParse(safeJson(info.stdout));
  const streams = parsed.success ? parsed.data.streams : [];
  const stream = streams.find((s) => s.codec_type === 'video');
  const audioStream = streams.find((s) => s.codec_type === 'audio');
  if (info.code !== 0 || !parsed.success || !stream || stream.index === undefined) {
    throw new AppError('FFMPEG_FAILED', 'could not read the video stream for the edit');
  }
  const start = Number(parsed.data.format?.start_time ?? 0) || 0;
  // All streams' packets in one pass (there is no selecting two streams); the others are skipped.
  const listing = await runFfprobe(
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time,flags', '-of', 'csv=p=0', input],
    limits,
  );
  if (listing.code !== 0)
    throw new AppError('FFMPEG_FAILED', 'could not list the video packets for the edit');
  const video = new Array<string>();
  const audioTimes = new Array<number>();
  const audioIndex = String(audioStream?.index ?? -1);
  const videoIndex = String(stream.index);
  for (const line of listing.stdout.split('\n')) {
    const comma = line.indexOf(',');
    const index = line.slice(0, comma);
    if (index === videoIndex) video.push(line.slice(comma + 1));
    else if (index === audioIndex) audioTimes.push(Number(line.slice(comma + 1).split(',')[0]));
  }
  const { frames, keyframes, openGop } = parsePacketList(video.join('\n'), start);
  const den = Number(stream.time_base?.split('/')[1]);
  const sampleRate = Number(audioStream?.sample_rate);
  const audio =
    audioStream && Number.isInteger(sampleRate) && sampleRate > 0 && audioTimes.length > 0
      ? {
          codec: audioStream.codec_name ?? 'unknown',
          profile: audioStream.profile ?? null,
          sampleRate,
          channels: audioStream.channels ?? 0,
          bitRate: Number(audioStream.bit_rate) > 0 ? Number(audioStream.bit_rate) : null,
          firstSample: Math.round(((Number(audioStream.start_time) || start) - start) * sampleRate),
          ...audioGrid(audioTimes, start, sampleRate),
        }
      : null;
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
    audio,
  };
}

/**
 * Where the audio packets sit in samples: the first one's time, how many, and whether each starts
 * one AAC frame after the previous. The tolerance is the container's clock: Matroska counts
 * milliseconds (48 samples at 48 kHz), MP4 counts samples.
 */
export function audioGrid(
  times: number[],
  startTime: number,
  sampleRate: number,
): { firstPts: number; count: number; contiguous: boolean } {
  const firstPts = Math.round(((times[0] ?? 0) - startTime) * sampleRate);
  const tolerance = Math.max(2, Math.ceil(sampleRate / 1000));
  let contiguous = true;
  for (let k = 0; k < times.length; k += 1) {
    const at = ((times[k] ?? NaN) - startTime) * sampleRate;
    if (!(Math.abs(at - (firstPts + k * AAC_FRAME)) <= tolerance)) {
      contiguous = false;
      break;
    }
  }
  return { firstPts, count: times.length, contiguous };
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

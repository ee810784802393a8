import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../errors/index.js';
import { lastLines, runBinary, runFfprobe, type RunLimits } from './run-ffmpeg.js';
import { ffmpegPath } from '../media/index.js';

/** What the pipeline knows about an upload after probing it. */
export interface MediaInfo {
  /** ffprobe's format name, e.g. "matroska,webm" or "mov,mp4,m4a,3gp,3g2,mj2". */
  container: string;
  durationSeconds: number;
  sizeBytes: number;
  bitRate: number | null;
  video: {
    codec: string;
    width: number;
    height: number;
    frameRate: number | null;
    pixelFormat: string | null;
  } | null;
  audio: { codec: string; sampleRate: number | null; channels: number | null } | null;
  streams: Array<{ index: number; type: string; codec: string | null }>;
}

const numeric = z.union([z.string(), z.number()]).optional();

const probeSchema = z.object({
  format: z
    .object({
      format_name: z.string().optional(),
      duration: numeric,
      size: numeric,
      bit_rate: numeric,
    })
    .optional(),
  streams: z
    .array(
      z.object({
        index: z.number(),
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        width: z.number().optional(),
        height: z.number().optional(),
        avg_frame_rate: z.string().optional(),
        r_frame_rate: z.string().optional(),
        pix_fmt: z.string().optional(),
        sample_rate: numeric,
        channels: z.number().optional(),
        duration: numeric,
        disposition: z.object({ attached_pic: z.number().optional() }).optional(),
      }),
    )
    .default([]),
});

// Leading bytes of the containers a recording arrives in. A file that starts like one of these but
// cannot be read is a damaged recording (CORRUPT_MEDIA), not something that was never media.
const SIGNATURES: Array<{ offset: number; bytes: number[] }> = [
  { offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] }, // Matroska / WebM (EBML)
  { offset: 4, bytes: [0x66, 0x74, 0x79, 0x70] }, // ISO BMFF: MP4, MOV ("ftyp")
  { offset: 4, bytes: [0x6d, 0x64, 0x61, 0x74] }, // MOV starting with "mdat"
  { offset: 4, bytes: [0x6d, 0x6f, 0x6f, 0x76] }, // MOV starting with "moov"
  { offset: 4, bytes: [0x77, 0x69, 0x64, 0x65] }, // MOV starting with "wide"
  { offset: 0, bytes: [0x46, 0x4c, 0x56] }, // FLV
  { offset: 0, bytes: [0x52, 0x49, 0x46, 0x46] }, // RIFF: AVI, WAV
  { offset: 0, bytes: [0x4f, 0x67, 0x67, 0x53] }, // Ogg
  { offset: 0, bytes: [0x47] }, // MPEG-TS sync byte (checked again at 188 below)
  { offset: 0, bytes: [0x00, 0x00, 0x01, 0xba] }, // MPEG-PS
];

// What ffmpeg prints when the data ends before the container says it should.
const TRUNCATION = /partial file|read error|invalid data found|end of file|truncat|premature|corrupt/i;

/**
 * probe: reads container, duration, streams, codecs, resolution, frame rate and bitrate with
 * ffprobe, then reads every packet once (no decoding) so that a file cut short fails here with
 * CORRUPT_MEDIA rather than half-way through the pipeline. A file with no audio or video stream
 * fails with NOT_A_MEDIA_FILE.
 */
export async function probeMedia(file: string, limits: RunLimits): Promise<MediaInfo> {
  const found = await stat(file).catch(() => undefined);
  if (!found?.isFile()) throw new AppError('FILE_NOT_FOUND', 'the uploaded file is no longer there');
  if (found.size === 0) throw new AppError('EMPTY_FILE', 'the uploaded file is empty');
  const result = await runFfprobe(
    ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file],
    limits,
  );
  if (result.code !== 0) {
    if (await looksLikeContainer(file)) {
      throw new AppError('CORRUPT_MEDIA', `the file cannot be read: ${lastLines(result.stderr, 1)}`);
    }
    throw new AppError('NOT_A_MEDIA_FILE', 'the file is not audio or video');
  }
  let parsed: z.infer<typeof probeSchema>;
  try {
    parsed = probeSchema.parse(JSON.parse(result.stdout));
  } catch (error) {
    throw new AppError('NOT_A_MEDIA_FILE', 'ffprobe could not describe the file', { cause: error });
  }
  const info = toMediaInfo(parsed);
  if (!info.video && !info.audio)
    throw new AppError('NOT_A_MEDIA_FILE', 'the file has no audio or video stream');
  if (!(info.durationSeconds > 0)) throw new AppError('NOT_A_MEDIA_FILE', 'the file has no duration');

  // One demux pass (-c copy to the null muxer): cheap, and it is what notices a missing tail.
  const check = await runBinary(
    ffmpegPath,
    ['-hide_banner', '-nostdin', '-nostats', '-v', 'error', '-progress', 'pipe:1', '-i', file].concat([
      '-map',
      '0:v?',
      '-map',
      '0:a?',
      '-c',
      'copy',
      '-f',
      'null',
      '-',
    ]),
    { ...limits, progressDurationSeconds: info.durationSeconds },
  );
  if (check.code !== 0 || TRUNCATION.test(check.stderr)) {
    throw new AppError('CORRUPT_MEDIA', `the file is damaged or cut short: ${lastLines(check.stderr, 1)}`);
  }
  return info;
}

function toMediaInfo(p: z.infer<typeof probeSchema>): MediaInfo {
  const video = p.streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const audio = p.streams.find((s) => s.codec_type === 'audio');
  const streamDurations = p.streams.map((s) => toNumber(s.duration) ?? 0);
  return {
    container: p.format?.format_name ?? 'unknown',
    durationSeconds: toNumber(p.format?.duration) ?? Math.max(0, ...streamDurations),
    sizeBytes: toNumber(p.format?.size) ?? 0,
    bitRate: toNumber(p.format?.bit_rate) ?? null,
    video: video
      ? {
          codec: video.codec_name ?? 'unknown',
          width: video.width ?? 0,
          height: video.height ?? 0,
          frameRate: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate),
          pixelFormat: video.pix_fmt ?? null,
        }
      : null,
    audio: audio
      ? {
          codec: audio.codec_name ?? 'unknown',
          sampleRate: toNumber(audio.sample_rate) ?? null,
          channels: audio.channels ?? null,
        }
      : null,
    streams: p.streams.map((s) => ({
      index: s.index,
      type: s.codec_type ?? 'unknown',
      codec: s.codec_name ?? null,
    })),
  };
}

function toNumber(value: string | number | undefined): number | undefined {
  if (value === undefined || value === 'N/A') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

/** "30000/1001" → 29.97; "0/0" → undefined. */
function rate(text: string | undefined): number | null {
  if (!text) return null;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || den === undefined || !(num > 0) || !(den > 0)) return null;
  return Math.round((num / den) * 1000) / 1000;
}

async function looksLikeContainer(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(189);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return SIGNATURES.some(({ offset, bytes }) => {
      if (bytesRead < offset + bytes.length) return false;
      if (!bytes.every((b, i) => head[offset + i] === b)) return false;
      // A lone 0x47 is too common to trust: MPEG-TS repeats it every 188 bytes.
      return bytes.length > 1 || (bytesRead > 188 && head[188] === 0x47);
    });
  } finally {
    await handle.close();
  }
}

/** The duration of a file this pipeline wrote, read back from the file itself. */
export async function probeDuration(file: string, limits: RunLimits): Promise<number> {
  const result = await runFfprobe(
    ['-v', 'error', '-show_entries', 'format=duration', '-of', 'default=noprint_wrappers=1:nokey=1', file],
    limits,
  );
  const value = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isFinite(value)) {
    throw new AppError('FFMPEG_FAILED', `could not read back the duration of ${file}`);
  }
  return value;
}

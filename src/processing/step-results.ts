import { z } from 'zod';
import type { MediaInfo } from './probe-step.js';
import type { WebResult } from './web-step.js';
import type { AudioAnalysis } from './audio-analysis-step.js';
import type { EditReport } from './edit-step.js';
import type { Chapter } from './chapters-step.js';
import type { SpriteSheet, ThumbnailResult } from './thumbnail-step.js';
import type { TranscribeResult } from './transcribe/index.js';

/**
 * The shape of each step's stored result. A resumed job keeps a finished step only when its stored
 * result still parses with the schema of today's code: a result written by an older version with
 * another shape is run again, never handed to later steps as if it were today's. The schemas are
 * written against the step's own TypeScript type (`satisfies z.ZodType<T>`), so a change of one
 * without the other fails the typecheck.
 */
const range = z.object({ start: z.number(), end: z.number() });

export const mediaInfoSchema = z.object({
  container: z.string(),
  durationSeconds: z.number(),
  sizeBytes: z.number(),
  bitRate: z.number().nullable(),
  video: z
    .object({
      codec: z.string(),
      width: z.number(),
      height: z.number(),
      frameRate: z.number().nullable(),
      pixelFormat: z.string().nullable(),
    })
    .nullable(),
  audio: z
    .object({ codec: z.string(), sampleRate: z.number().nullable(), channels: z.number().nullable() })
    .nullable(),
  streams: z.array(z.object({ index: z.number(), type: z.string(), codec: z.string().nullable() })),
}) satisfies z.ZodType<MediaInfo>;

export const spriteSheetSchema = z.object({
  file: z.string(),
  interval: z.number(),
  columns: z.number(),
  rows: z.number(),
  tileWidth: z.number(),
  tileHeight: z.number(),
  times: z.array(z.number()),
}) satisfies z.ZodType<SpriteSheet>;

export const thumbnailResultSchema = z.object({
  thumbnail: z.string(),
  contactSheet: z.string(),
  sprite: spriteSheetSchema,
}) satisfies z.ZodType<ThumbnailResult>;

export const webResultSchema = z.object({
  path: z.string(),
  video: z.enum(['copy', 'h264']).nullable(),
  audio: z.enum(['copy', 'aac']).nullable(),
  subtitles: z.literal('mov_text').nullable(),
}) satisfies z.ZodType<WebResult>;

export const transcribeResultSchema = z.object({
  engine: z.string(),
  language: z.string(),
  word_count: z.number(),
  segment_count: z.number(),
}) satisfies z.ZodType<TranscribeResult>;

export const audioAnalysisSchema = z.object({
  integratedLufs: z.number().nullable(),
  loudnessRangeLu: z.number().nullable(),
  silenceThresholdDb: z.number(),
  silenceMinSeconds: z.number(),
  silences: z.array(z.object({ start: z.number(), end: z.number(), duration: z.number() })),
}) satisfies z.ZodType<AudioAnalysis>;

export const editReportSchema = z.object({
  original_duration: z.number(),
  edited_duration: z.number(),
  time_saved: z.number(),
  segments_removed: z.number(),
  silence_removed: z.number(),
  cuts: z.array(range),
  output: z.string().nullable(),
  edit_mode: z.enum(['smart', 'reencode']).nullable(),
  edit_fallback_reason: z.string().nullable(),
  reencoded_seconds: z.number(),
  audio_reencoded_seconds: z.number().optional(),
  audio_max_shift_seconds: z.number().optional(),
}) satisfies z.ZodType<EditReport>;

export const chaptersSchema = z.array(
  z.object({ index: z.number(), start: z.number(), end: z.number(), title: z.string() }),
) satisfies z.ZodType<Chapter[]>;

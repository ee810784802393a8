import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { writeOutput } from './step-output.js';
import type { Chapter } from './chapters-step.js';
import type { SilentSegment } from './audio-analysis-step.js';
import type { Range } from './edit-step.js';
import type { SpriteSheet } from './thumbnail-step.js';

/** Output name of the timeline (written by the audio step). */
export const TIMELINE_NAME = 'timeline.json';

/** `timeline.json`: what the page draws under the player. Times in seconds of the original. */
export interface Timeline {
  version: 1;
  duration: number;
  loudness: {
    /** Seconds between values: value i is the momentary loudness (400 ms window) ending at (i + 1) × interval. */
    interval: number;
    unit: 'LUFS';
    /** null: below the -70 LUFS gate (silence). */
    momentary: Array<number | null>;
    integrated: number | null;
    range: number | null;
  };
  silences: Array<{ start: number; end: number }>;
  /** What the edit cuts out (the same plan the edit step follows). */
  cuts: Range[];
  /** Scene chapters, or null when the chapters step did not run. */
  chapters: Array<{ start: number; end: number; title: string }> | null;
  /** The sprite sheet of pictures at regular times, or null (no video, or the thumbnail step failed). */
  thumbnails: {
    sprite: string;
    interval: number;
    columns: number;
    rows: number;
    tile_width: number;
    tile_height: number;
    /** The time of each tile, row by row: tile i is at column i % columns, row ⌊i / columns⌋. */
    times: number[];
  } | null;
}

/** Writes timeline.json from what the steps found. */
export async function writeTimeline(
  outputDir: string,
  parts: {
    duration: number;
    momentary: Array<number | null>;
    integrated: number | null;
    range: number | null;
    silences: SilentSegment[];
    cuts: Range[];
    chapters: Chapter[] | null;
    sprite: SpriteSheet | null;
  },
): Promise<Timeline> {
  const { sprite } = parts;
  const timeline: Timeline = {
    version: 1,
    duration: parts.duration,
    loudness: {
      interval: 0.1,
      unit: 'LUFS',
      momentary: parts.momentary,
      integrated: parts.integrated,
      range: parts.range,
    },
    silences: parts.silences.map((s) => ({ start: s.start, end: s.end })),
    cuts: parts.cuts,
    chapters: parts.chapters?.map((c) => ({ start: c.start, end: c.end, title: c.title })) ?? null,
    thumbnails: sprite
      ? {
          sprite: path.basename(sprite.file),
          interval: sprite.interval,
          columns: sprite.columns,
          rows: sprite.rows,
          tile_width: sprite.tileWidth,
          tile_height: sprite.tileHeight,
          times: sprite.times,
        }
      : null,
  };
  await writeOutput(outputDir, TIMELINE_NAME, (tmp) => writeFile(tmp, JSON.stringify(timeline)));
  return timeline;
}

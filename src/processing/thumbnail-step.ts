import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import { writeOutput } from './step-output.js';
import type { MediaInfo } from './probe-step.js';

/** Output names of the thumbnail step. */
export const THUMBNAIL_NAME = 'thumbnail.jpg';
export const CONTACT_SHEET_NAME = 'contact-sheet.jpg';
export const SPRITE_NAME = 'timeline-sprite.jpg';

/** Size of one cell of the contact sheet; the sheet is 3×3 of these. */
const CELL = { width: 320, height: 180 };
/** Size of one tile of the timeline's sprite sheet, and how many tiles at most. */
const TILE = { width: 160, height: 90 };
const SPRITE_COLUMNS = 10;
const MAX_TILES = 100;
/** Seconds between the sprite's pictures when the recording is short enough. */
const SPRITE_INTERVAL = 10;

/** Where each picture of the timeline's sprite sheet is and what time it shows. */
export interface SpriteSheet {
  file: string;
  /** Seconds between pictures; picture i shows the time `times[i]`. */
  interval: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  /** The time each tile stands for (the middle of its interval), row by row. */
  times: number[];
}

/** What the thumbnail step wrote (full paths for the pictures, the sprite's layout). */
export interface ThumbnailResult {
  thumbnail: string;
  contactSheet: string;
  sprite: SpriteSheet;
}

/**
 * thumbnail: in one ffmpeg run that decodes only keyframes (`-skip_frame nokey`: a fraction of
 * the frames, and the cheapest ones to decode), a JPEG of the keyframe at 10% of the duration,
 * a 3×3 contact sheet of nine pictures spread evenly over the video, and the timeline's sprite
 * sheet: a picture every 10 s (or at most 100 spread evenly), 160×90, ten to a row. Each picture
 * is the last keyframe at or before its time (`fps` repeats one when keyframes are sparse).
 */
export async function makeThumbnails(
  input: string,
  outputDir: string,
  media: MediaInfo,
  limits: RunLimits,
): Promise<ThumbnailResult> {
  const duration = media.durationSeconds;
  const tiles = Math.max(1, Math.min(MAX_TILES, Math.ceil(duration / SPRITE_INTERVAL)));
  const interval = duration / tiles;
  const rows = Math.ceil(tiles / SPRITE_COLUMNS);
  const columns = Math.min(SPRITE_COLUMNS, tiles);
  const cell = (w: number, h: number): string =>
    `scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,setsar=1`;
  // `fps` at twice the rate, keeping every other frame, puts each picture at the middle of its
  // slice (never the very first frame, often black) and still works when keyframes are sparse:
  // it repeats the last keyframe for a tick that has none of its own.
  const middles = (count: number): string => `fps=fps=${(2 * count) / duration},select='mod(n,2)'`;
  const graph = [
    '[0:v:0]split=3[t][s][p]',
    // Every keyframe up to 10% is written over the same file (`-update 1`): the last one stays.
    `[t]select='lte(t,${(duration * 0.1).toFixed(3)})',scale=trunc(iw*sar/2)*2:ih,setsar=1[thumb]`,
    `[s]${middles(9)},${cell(CELL.width, CELL.height)},tile=3x3[sheet]`,
    `[p]${middles(tiles)},${cell(TILE.width, TILE.height)},tile=${columns}x${rows}[sprite]`,
  ].join(';');

  let thumbnail = '';
  let sprite = '';
  const write = (keyframesOnly: boolean): Promise<string> =>
    writeOutput(outputDir, CONTACT_SHEET_NAME, async (sheetTmp) => {
      thumbnail = await writeOutput(outputDir, THUMBNAIL_NAME, async (thumbTmp) => {
        sprite = await writeOutput(outputDir, SPRITE_NAME, async (spriteTmp) => {
          await runFfmpeg(
            ['-v', 'error', ...(keyframesOnly ? ['-skip_frame', 'nokey'] : []), '-i', input].concat(
              ['-filter_complex', graph],
              // Passthrough: the image2 muxer would otherwise repeat pictures to fill a constant frame rate.
              ['-vsync', 'passthrough'],
              ['-map', '[thumb]', '-update', '1', '-q:v', '2', '-f', 'image2', thumbTmp],
              ['-map', '[sheet]', '-frames:v', '1', '-q:v', '3', '-f', 'image2', sheetTmp],
              ['-map', '[sprite]', '-frames:v', '1', '-q:v', '4', '-f', 'image2', spriteTmp],
            ),
            { ...limits, durationSeconds: duration },
          );
        });
      });
    });
  let contactSheet: string;
  try {
    contactSheet = await write(true);
  } catch (error) {
    // Too few keyframes for a picture (a short clip with one keyframe): ffmpeg wrote no file. The
    // same graph over every frame always has one for each tick; it costs a full decode, but only
    // for such files.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    contactSheet = await write(false);
  }
  return {
    thumbnail,
    contactSheet,
    sprite: {
      file: sprite,
      interval: round(interval),
      columns,
      rows,
      tileWidth: TILE.width,
      tileHeight: TILE.height,
      times: Array.from({ length: tiles }, (_, i) => round((i + 0.5) * interval)),
    },
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

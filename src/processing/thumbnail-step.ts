import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import { writeOutput } from './step-output.js';
import type { MediaInfo } from './probe-step.js';

/** Output names of the thumbnail step. */
export const THUMBNAIL_NAME = 'thumbnail.jpg';
export const CONTACT_SHEET_NAME = 'contact-sheet.jpg';

/** Size of one cell of the contact sheet; the sheet is 3×3 of these. */
const CELL = { width: 320, height: 180 };

/**
 * thumbnail: a JPEG of the frame at 10% of the duration, and a 3×3 contact sheet of nine frames
 * spread evenly over the video. Each frame is reached by a fast seek (`-ss` before `-i`), so the
 * cost does not grow with the length of the recording.
 */
export async function makeThumbnails(
  input: string,
  outputDir: string,
  media: MediaInfo,
  limits: RunLimits,
): Promise<{ thumbnail: string; contactSheet: string }> {
  const duration = media.durationSeconds;
  const report = (offset: number) => (f: number) => limits.onProgress?.(offset + f / 2);

  const thumbnail = await writeOutput(outputDir, THUMBNAIL_NAME, async (tmp) => {
    await runFfmpeg(
      ['-v', 'error', '-ss', seconds(duration * 0.1), '-i', input, '-map', '0:v:0', '-frames:v', '1'].concat([
        '-vf',
        'scale=trunc(iw*sar/2)*2:ih,setsar=1',
        '-q:v',
        '2',
        '-f',
        'image2',
        tmp,
      ]),
      { ...limits, onProgress: report(0), durationSeconds: 0 },
    );
  });

  const inputs: string[] = [];
  const chains: string[] = [];
  for (let i = 0; i < 9; i += 1) {
    // Midpoints of nine equal slices: never the very first or last frame, which are often black.
    inputs.push('-ss', seconds((duration * (i + 0.5)) / 9), '-i', input);
    chains.push(
      `[${i}:v:0]trim=end_frame=1,scale=${CELL.width}:${CELL.height}:force_original_aspect_ratio=decrease,` +
        `pad=${CELL.width}:${CELL.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,setpts=PTS-STARTPTS[c${i}]`,
    );
  }
  const graph = `${chains.join(';')};${chains.map((_, i) => `[c${i}]`).join('')}concat=n=9:v=1:a=0,tile=3x3[sheet]`;
  const contactSheet = await writeOutput(outputDir, CONTACT_SHEET_NAME, async (tmp) => {
    await runFfmpeg(
      ['-v', 'error', ...inputs, '-filter_complex', graph, '-map', '[sheet]', '-frames:v', '1'].concat([
        '-q:v',
        '3',
        '-f',
        'image2',
        tmp,
      ]),
      { ...limits, onProgress: report(0.5), durationSeconds: 0 },
    );
  });
  return { thumbnail, contactSheet };
}

function seconds(value: number): string {
  return Math.max(0, value).toFixed(3);
}

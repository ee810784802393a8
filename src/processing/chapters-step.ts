import { writeFile } from 'node:fs/promises';
import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import { writeOutput } from './step-output.js';
import type { MediaInfo } from './probe-step.js';

/** Output names of the chapters step. */
export const CHAPTERS_JSON_NAME = 'chapters.json';
export const CHAPTERS_VTT_NAME = 'chapters.vtt';

/** One chapter, in seconds of the original. */
export interface Chapter {
  index: number;
  start: number;
  end: number;
  title: string;
}

/** Scene detection settings; the defaults suit screen recordings and camera cuts alike. */
export interface ChapterSettings {
  /** ffmpeg's scene score (0..1) above which a frame starts a new scene. */
  sceneThreshold: number;
  /** Scene changes closer than this to the previous chapter start are merged into it. */
  minChapterSeconds: number;
}

export const DEFAULT_CHAPTER_SETTINGS: ChapterSettings = { sceneThreshold: 0.4, minChapterSeconds: 10 };

/**
 * chapters: decodes the video once (scaled down, since the scene score does not need detail),
 * keeps the frames whose scene score passes the threshold, and turns their times into chapters,
 * written as JSON and as WebVTT chapters a browser's <track kind="chapters"> reads.
 */
export async function detectChapters(
  input: string,
  outputDir: string,
  media: MediaInfo,
  settings: ChapterSettings,
  limits: RunLimits,
): Promise<Chapter[]> {
  const result = await runFfmpeg(
    ['-v', 'info', '-i', input, '-map', '0:v:0', '-an', '-sn', '-dn'].concat([
      '-vf',
      `scale=160:-2,select='gt(scene,${settings.sceneThreshold})',showinfo`,
      '-f',
      'null',
      '-',
    ]),
    { ...limits, durationSeconds: media.durationSeconds },
  );
  const changes = [...result.stderr.matchAll(/Parsed_showinfo.*?pts_time:\s*([\d.]+)/g)].map((m) =>
    Number(m[1]),
  );
  const chapters = chaptersFromSceneChanges(changes, media.durationSeconds, settings.minChapterSeconds);
  await writeOutput(outputDir, CHAPTERS_JSON_NAME, (tmp) =>
    writeFile(tmp, JSON.stringify(chapters, null, 2)),
  );
  await writeOutput(outputDir, CHAPTERS_VTT_NAME, (tmp) => writeFile(tmp, toWebVtt(chapters)));
  return chapters;
}

/** Scene change times → chapters covering the whole duration, none shorter than the minimum. */
export function chaptersFromSceneChanges(changes: number[], duration: number, minSeconds: number): Chapter[] {
  const starts = [0];
  for (const t of [...changes].sort((a, b) => a - b)) {
    const last = starts[starts.length - 1] ?? 0;
    if (t - last >= minSeconds && duration - t >= minSeconds) starts.push(t);
  }
  return starts.map((start, i) => ({
    index: i + 1,
    start: round(start),
    end: round(starts[i + 1] ?? duration),
    title: `Chapter ${i + 1}`,
  }));
}

function toWebVtt(chapters: Chapter[]): string {
  const cues = chapters.map((c) => `${c.index}\n${timestamp(c.start)} --> ${timestamp(c.end)}\n${c.title}\n`);
  return `WEBVTT\n\n${cues.join('\n')}`;
}

function timestamp(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

import { readdir, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError, toAppError } from '../errors/index.js';
import { probeMedia, type MediaInfo } from './probe-step.js';
import { makeThumbnails } from './thumbnail-step.js';
import { makeWebVersion, type WebResult } from './web-step.js';
import { analyseAudio, type AudioAnalysis } from './audio-analysis-step.js';
import { DEFAULT_CUT_PAD_SECONDS, makeEdit, type EditReport } from './edit-step.js';
import {
  DEFAULT_CHAPTER_SETTINGS,
  detectChapters,
  type Chapter,
  type ChapterSettings,
} from './chapters-step.js';
import { writeOutput } from './step-output.js';

/** The steps, in the order they run. */
export const STEP_NAMES = ['probe', 'thumbnail', 'web', 'audio', 'edit', 'chapters'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** A step's state: pending → running → done | skipped | failed. */
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** One step as shown in `GET /status/:task_id`. */
export interface StepRecord {
  name: StepName;
  state: StepState;
  /** 0..1, from ffmpeg's `-progress`. */
  progress: number;
  started_at: string | null;
  finished_at: string | null;
  /** Why a step was skipped (e.g. "no video stream"). */
  note?: string;
  error?: { code: string; message: string };
  /** What the step found, kept so that a restarted job resumes after it. */
  result?: unknown;
}

/** Pipeline settings, from INGEST_* (see processorFromConfig). */
export interface PipelineSettings {
  stepTimeoutMs: number;
  silenceThresholdDb: number;
  silenceMinSeconds: number;
  chapters: boolean;
  /** Seconds of silence kept at each side of a cut. Default 0.05. */
  cutPadSeconds?: number;
  chapterSettings?: ChapterSettings;
}

/** The processing report: the edit numbers the original client reads, and the rest of what was found. */
export interface ProcessingReport extends Omit<EditReport, 'cuts' | 'output'> {
  media: MediaInfo;
  loudness: { integrated_lufs: number | null; loudness_range_lu: number | null } | null;
  silences: AudioAnalysis['silences'];
  silence_threshold_db: number;
  silence_min_seconds: number;
  cuts: EditReport['cuts'];
  web: { output: string; video: WebResult['video']; audio: WebResult['audio'] };
  edited_output: string | null;
  thumbnail: string | null;
  contact_sheet: string | null;
  chapters: Chapter[] | null;
}

/** A file the pipeline wrote, as listed in the status. */
export interface OutputFile {
  name: string;
  size: number;
}

/** Hooks the service uses to follow a run. */
export interface PipelineHooks {
  signal?: AbortSignal;
  /** Steps from an earlier, interrupted run: those done are not run again. */
  previous?: StepRecord[];
  /** Called on every state change and progress tick with all the steps and the overall fraction. */
  onUpdate?: (steps: StepRecord[], progress: number) => void;
  onSpawn?: (pid: number) => void;
  now?: () => Date;
}

// Rough share of the work of each step, so the overall progress moves evenly.
const WEIGHTS: Record<StepName, number> = { probe: 1, thumbnail: 1, web: 3, audio: 2, edit: 5, chapters: 3 };

/** The name the report is written under in the output folder. */
export const REPORT_NAME = 'report.json';

/** Fresh step records for a new run. */
export function initialSteps(): StepRecord[] {
  return STEP_NAMES.map((name) => ({
    name,
    state: 'pending',
    progress: 0,
    started_at: null,
    finished_at: null,
  }));
}

/** The overall fraction done, weighted by step. */
export function overallProgress(steps: StepRecord[]): number {
  let total = 0;
  let done = 0;
  for (const s of steps) {
    total += WEIGHTS[s.name];
    done += WEIGHTS[s.name] * (s.state === 'done' || s.state === 'skipped' ? 1 : s.progress);
  }
  return total === 0 ? 0 : Math.round((done / total) * 1000) / 1000;
}

/**
 * Runs the whole pipeline on one upload and returns the report. Each step has its own time limit
 * (`stepTimeoutMs`) and reports progress; the first step that fails stops the run with its
 * AppError (NOT_A_MEDIA_FILE, CORRUPT_MEDIA, STEP_TIMEOUT, FFMPEG_FAILED, ...). Outputs are written
 * under `outputDir`, each renamed into place only when complete.
 */
export async function runPipeline(
  input: string,
  outputDir: string,
  settings: PipelineSettings,
  hooks: PipelineHooks = {},
): Promise<{ report: ProcessingReport; outputs: OutputFile[]; steps: StepRecord[] }> {
  await mkdir(outputDir, { recursive: true });
  const now = hooks.now ?? (() => new Date());
  const steps = initialSteps();
  for (const old of hooks.previous ?? []) {
    const i = steps.findIndex((s) => s.name === old.name);
    if (i >= 0 && (old.state === 'done' || old.state === 'skipped') && old.result !== undefined)
      steps[i] = old;
  }
  const update = (): void =>
    hooks.onUpdate?.(
      steps.map((s) => ({ ...s })),
      overallProgress(steps),
    );

  async function step<T>(
    name: StepName,
    work: (onProgress: (f: number) => void, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const record = steps.find((s) => s.name === name);
    if (!record) throw new AppError('INTERNAL_ERROR', `unknown step ${name}`);
    if (record.state === 'done' && record.result !== undefined) return record.result as T;
    if (hooks.signal?.aborted) throw toAppError(hooks.signal.reason);
    Object.assign(record, {
      state: 'running',
      progress: 0,
      started_at: now().toISOString(),
      finished_at: null,
    });
    delete record.error;
    update();

    // One limit for the whole step, however many ffmpeg runs it makes.
    const controller = new AbortController();
    const timer = setTimeout(
      () =>
        controller.abort(
          new AppError(
            'STEP_TIMEOUT',
            `${name} took longer than ${Math.round(settings.stepTimeoutMs / 1000)} s`,
          ),
        ),
      settings.stepTimeoutMs,
    );
    const onJobAbort = (): void => controller.abort(hooks.signal?.reason);
    hooks.signal?.addEventListener('abort', onJobAbort, { once: true });
    let lastTick = 0;
    const onProgress = (fraction: number): void => {
      // ffmpeg reports twice a second; a hundredth of a step is as fine as anyone reads.
      if (fraction - lastTick < 0.01 && fraction < 1) return;
      lastTick = fraction;
      record.progress = Math.round(Math.min(1, Math.max(record.progress, fraction)) * 1000) / 1000;
      update();
    };
    try {
      const result = await work(onProgress, controller.signal);
      Object.assign(record, { state: 'done', progress: 1, finished_at: now().toISOString(), result });
      update();
      return result;
    } catch (error) {
      const appError = toAppError(
        controller.signal.aborted ? controller.signal.reason : error,
        `${name} failed`,
      );
      if (hooks.signal?.aborted) {
        // Stopped from outside (re-queued, server closing): the step did not fail, it will run again.
        Object.assign(record, { state: 'pending', progress: 0, started_at: null, finished_at: null });
        update();
        throw appError;
      }
      const reported =
        appError.code === 'INTERNAL_ERROR' && error instanceof Error ? error.message : appError.message;
      Object.assign(record, {
        state: 'failed',
        finished_at: now().toISOString(),
        error: { code: appError.code, message: reported },
      });
      update();
      throw appError;
    } finally {
      clearTimeout(timer);
      hooks.signal?.removeEventListener('abort', onJobAbort);
    }
  }

  function skip(name: StepName, note: string): void {
    const record = steps.find((s) => s.name === name);
    if (!record || record.state === 'done') return;
    Object.assign(record, {
      state: 'skipped',
      progress: 1,
      note,
      finished_at: now().toISOString(),
      result: null,
    });
    update();
  }

  const limits = (onProgress: (f: number) => void, signal: AbortSignal) => ({
    timeoutMs: settings.stepTimeoutMs,
    signal,
    onProgress,
    onSpawn: hooks.onSpawn,
  });

  const media = await step('probe', (p, s) => probeMedia(input, limits(p, s)));

  let thumbs: { thumbnail: string; contactSheet: string } | null = null;
  if (media.video)
    thumbs = await step('thumbnail', (p, s) => makeThumbnails(input, outputDir, media, limits(p, s)));
  else skip('thumbnail', 'no video stream');

  const web = await step('web', (p, s) => makeWebVersion(input, outputDir, media, limits(p, s)));

  let audio: AudioAnalysis | null = null;
  if (media.audio) {
    audio = await step('audio', (p, s) =>
      analyseAudio(
        input,
        media,
        { thresholdDb: settings.silenceThresholdDb, minSeconds: settings.silenceMinSeconds },
        limits(p, s),
      ),
    );
  } else skip('audio', 'no audio stream');

  const silences = audio?.silences ?? [];
  const edit = await step('edit', (p, s) =>
    makeEdit(
      input,
      outputDir,
      media,
      silences,
      { padSeconds: settings.cutPadSeconds ?? DEFAULT_CUT_PAD_SECONDS },
      limits(p, s),
    ),
  );

  let chapters: Chapter[] | null = null;
  if (!settings.chapters) skip('chapters', 'INGEST_CHAPTERS is off');
  else if (!media.video) skip('chapters', 'no video stream');
  else {
    chapters = await step('chapters', (p, s) =>
      detectChapters(
        input,
        outputDir,
        media,
        settings.chapterSettings ?? DEFAULT_CHAPTER_SETTINGS,
        limits(p, s),
      ),
    );
  }

  const report: ProcessingReport = {
    original_duration: edit.original_duration,
    edited_duration: edit.edited_duration,
    time_saved: edit.time_saved,
    segments_removed: edit.segments_removed,
    silence_removed: edit.silence_removed,
    cuts: edit.cuts,
    media,
    loudness: audio
      ? { integrated_lufs: audio.integratedLufs, loudness_range_lu: audio.loudnessRangeLu }
      : null,
    silences,
    silence_threshold_db: settings.silenceThresholdDb,
    silence_min_seconds: settings.silenceMinSeconds,
    web: { output: path.basename(web.path), video: web.video, audio: web.audio },
    edited_output: edit.output,
    thumbnail: thumbs ? path.basename(thumbs.thumbnail) : null,
    contact_sheet: thumbs ? path.basename(thumbs.contactSheet) : null,
    chapters,
  };
  await writeOutput(outputDir, REPORT_NAME, (tmp) => writeFile(tmp, JSON.stringify(report, null, 2)));
  return { report, outputs: await listOutputs(outputDir), steps: steps.map((s) => ({ ...s })) };
}

/** The finished files in an output folder (temporary files, which start with a dot, are left out). */
export async function listOutputs(outputDir: string): Promise<OutputFile[]> {
  let names: string[];
  try {
    names = await readdir(outputDir);
  } catch {
    return [];
  }
  const files: OutputFile[] = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const info = await stat(path.join(outputDir, name)).catch(() => undefined);
    if (info?.isFile()) files.push({ name, size: info.size });
  }
  return files;
}

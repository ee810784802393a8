import { readdir, stat, writeFile, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError, toAppError } from '../errors/index.js';
import { probeMedia, type MediaInfo } from './probe-step.js';
import { CONTACT_SHEET_NAME, makeThumbnails, THUMBNAIL_NAME } from './thumbnail-step.js';
import { makeWebVersion, WEB_NAME, type WebResult } from './web-step.js';
import { analyseAudio, type AudioAnalysis } from './audio-analysis-step.js';
import { DEFAULT_CUT_PAD_SECONDS, EDITED_NAME, makeEdit, type EditReport } from './edit-step.js';
import {
  CHAPTERS_JSON_NAME,
  CHAPTERS_VTT_NAME,
  DEFAULT_CHAPTER_SETTINGS,
  detectChapters,
  type Chapter,
  type ChapterSettings,
} from './chapters-step.js';
import { writeOutput } from './step-output.js';

/** The steps, in the order they run. */
export const STEP_NAMES = ['probe', 'thumbnail', 'web', 'audio', 'edit', 'chapters'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * Steps whose failure does not fail the job: the report's numbers (durations, cuts, loudness) and
 * the files it is for (web copy, edit) do not depend on them, and the report already has an empty
 * value for them (null thumbnail, null chapters) when they do not apply. Such a step that fails is
 * recorded "failed" with its error, its outputs are removed, the job goes on and ends "done", and
 * the report lists it in `failed_steps`. Every other step (probe, web, audio, edit) fails the job.
 */
export const OPTIONAL_STEPS: ReadonlySet<StepName> = new Set<StepName>(['thumbnail', 'chapters']);

/** Every file each step may write in the output folder (edit writes none when there is nothing to cut). */
const STEP_FILES: Record<StepName, readonly string[]> = {
  probe: [],
  thumbnail: [THUMBNAIL_NAME, CONTACT_SHEET_NAME],
  web: [WEB_NAME],
  audio: [],
  edit: [EDITED_NAME],
  chapters: [CHAPTERS_JSON_NAME, CHAPTERS_VTT_NAME],
};

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
  /**
   * The files a finished step wrote, with their sizes when it finished. A resumed job runs the
   * step again when one of them is missing or has another size (or when none were recorded).
   */
  outputs?: OutputFile[];
}

/** Pipeline settings, from INGEST_* (see processorFromConfig). */
export interface PipelineSettings {
  stepTimeoutMs: number;
  /**
   * Per-step limits that replace `stepTimeoutMs` for the steps named. Not read from INGEST_*: it
   * exists so that tests (and benchmarks) can make one given step fail, e.g. a 1 ms limit.
   */
  stepTimeoutOverridesMs?: Partial<Record<StepName, number>>;
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
  /** Optional steps (OPTIONAL_STEPS) that failed without failing the job; empty when none did. */
  failed_steps: Array<{ name: StepName; code: string; message: string }>;
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
 * (`stepTimeoutMs`) and reports progress; the first essential step that fails stops the run with
 * its AppError (NOT_A_MEDIA_FILE, CORRUPT_MEDIA, STEP_TIMEOUT, FFMPEG_FAILED, ...), while an
 * optional one (OPTIONAL_STEPS) is recorded as failed and the run goes on. Outputs are written
 * under `outputDir`, each renamed into place only when complete. Steps of `hooks.previous` that
 * finished are kept only while the files they wrote are still there with the same sizes.
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
    if (i < 0 || old.result === undefined) continue;
    if (old.state === 'skipped' || (old.state === 'done' && (await outputsIntact(outputDir, old.outputs))))
      steps[i] = old;
  }
  const update = (): void =>
    hooks.onUpdate?.(
      steps.map((s) => ({ ...s })),
      overallProgress(steps),
    );

  const timeoutOf = (name: StepName): number =>
    settings.stepTimeoutOverridesMs?.[name] ?? settings.stepTimeoutMs;

  /** Runs one step; `files` names what a result wrote, recorded with sizes so a resume can check them. */
  async function step<T>(
    name: StepName,
    work: (onProgress: (f: number) => void, signal: AbortSignal) => Promise<T>,
    files: (result: T) => readonly string[] = () => STEP_FILES[name],
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
    delete record.outputs;
    update();

    // One limit for the whole step, however many ffmpeg runs it makes.
    const controller = new AbortController();
    const timeoutMs = timeoutOf(name);
    const timer = setTimeout(
      () =>
        controller.abort(
          new AppError('STEP_TIMEOUT', `${name} took longer than ${Math.round(timeoutMs / 1000)} s`),
        ),
      timeoutMs,
    );
    const onJobAbort = (): void => controller.abort(hooks.signal?.reason);
    hooks.signal?.addEventListener('abort', onJobAbort, { once: true });
    // The job may have been stopped by a listener of the update above, before this listener existed.
    if (hooks.signal?.aborted) onJobAbort();
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
      const outputs = await measure(outputDir, files(result));
      Object.assign(record, {
        state: 'done',
        progress: 1,
        finished_at: now().toISOString(),
        result,
        outputs,
      });
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

  /**
   * An optional step: its failure is recorded (by step()) and its files removed, so the outputs
   * never list half of what it makes, and the run goes on with null. Being stopped from outside is
   * not a failure and still ends the run.
   */
  async function optionalStep<T>(
    name: StepName,
    work: (onProgress: (f: number) => void, signal: AbortSignal) => Promise<T>,
  ): Promise<T | null> {
    try {
      return await step(name, work);
    } catch (error) {
      const record = steps.find((s) => s.name === name);
      if (!OPTIONAL_STEPS.has(name) || hooks.signal?.aborted || record?.state !== 'failed') throw error;
      await Promise.all(STEP_FILES[name].map((file) => rm(path.join(outputDir, file), { force: true })));
      return null;
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

  const limits = (name: StepName, onProgress: (f: number) => void, signal: AbortSignal) => ({
    timeoutMs: timeoutOf(name),
    signal,
    onProgress,
    onSpawn: hooks.onSpawn,
  });

  const media = await step('probe', (p, s) => probeMedia(input, limits('probe', p, s)));

  let thumbs: { thumbnail: string; contactSheet: string } | null = null;
  if (media.video)
    thumbs = await optionalStep('thumbnail', (p, s) =>
      makeThumbnails(input, outputDir, media, limits('thumbnail', p, s)),
    );
  else skip('thumbnail', 'no video stream');

  const web = await step('web', (p, s) => makeWebVersion(input, outputDir, media, limits('web', p, s)));

  let audio: AudioAnalysis | null = null;
  if (media.audio) {
    audio = await step('audio', (p, s) =>
      analyseAudio(
        input,
        media,
        { thresholdDb: settings.silenceThresholdDb, minSeconds: settings.silenceMinSeconds },
        limits('audio', p, s),
      ),
    );
  } else skip('audio', 'no audio stream');

  const silences = audio?.silences ?? [];
  const edit = await step(
    'edit',
    (p, s) =>
      makeEdit(
        input,
        outputDir,
        media,
        silences,
        { padSeconds: settings.cutPadSeconds ?? DEFAULT_CUT_PAD_SECONDS },
        limits('edit', p, s),
      ),
    (result) => (result.output === null ? [] : [result.output]),
  );

  let chapters: Chapter[] | null = null;
  if (!settings.chapters) skip('chapters', 'INGEST_CHAPTERS is off');
  else if (!media.video) skip('chapters', 'no video stream');
  else {
    chapters = await optionalStep('chapters', (p, s) =>
      detectChapters(
        input,
        outputDir,
        media,
        settings.chapterSettings ?? DEFAULT_CHAPTER_SETTINGS,
        limits('chapters', p, s),
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
    failed_steps: steps.flatMap((s) =>
      s.state === 'failed' && s.error ? [{ name: s.name, code: s.error.code, message: s.error.message }] : [],
    ),
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

/** The sizes of the named files in the output folder, as a step that just wrote them leaves them. */
async function measure(outputDir: string, names: readonly string[]): Promise<OutputFile[]> {
  const files: OutputFile[] = [];
  for (const name of names) {
    const info = await stat(path.join(outputDir, name));
    files.push({ name, size: info.size });
  }
  return files;
}

/**
 * Whether the files a finished step recorded are all still there with their recorded sizes. A
 * step with no record (written before sizes were kept) cannot be checked and counts as not intact,
 * so it runs again: rerunning costs time, trusting a missing file loses an output.
 */
async function outputsIntact(outputDir: string, recorded: OutputFile[] | undefined): Promise<boolean> {
  if (!recorded) return false;
  for (const file of recorded) {
    const info = await stat(path.join(outputDir, file.name)).catch(() => undefined);
    if (!info?.isFile() || info.size !== file.size) return false;
  }
  return true;
}

import { readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { probeMedia, type MediaInfo } from './probe-step.js';
import {
  CONTACT_SHEET_NAME,
  makeThumbnails,
  SPRITE_NAME,
  THUMBNAIL_NAME,
  type SpriteSheet,
  type ThumbnailResult,
} from './thumbnail-step.js';
import { makeWebVersion, WEB_NAME, type WebResult } from './web-step.js';
import { analyseAudio, type AudioAnalysis } from './audio-analysis-step.js';
import { DEFAULT_CUT_PAD_SECONDS, EDITED_NAME, makeEdit, planCuts, type EditReport } from './edit-step.js';
import { TIMELINE_NAME, writeTimeline } from './timeline.js';
import {
  engineFor,
  SUBTITLES_SRT_NAME,
  SUBTITLES_VTT_NAME,
  transcribe,
  TRANSCRIPT_NAME,
  type TranscribeResult,
  type TranscribeSettings,
} from './transcribe/index.js';
import {
  CHAPTERS_JSON_NAME,
  CHAPTERS_VTT_NAME,
  DEFAULT_CHAPTER_SETTINGS,
  detectChapters,
  type Chapter,
  type ChapterSettings,
} from './chapters-step.js';
import { writeOutput } from './step-output.js';
import { StepRunner } from './step-runner.js';
import {
  audioAnalysisSchema,
  chaptersSchema,
  transcribeResultSchema,
  editReportSchema,
  mediaInfoSchema,
  thumbnailResultSchema,
  webResultSchema,
} from './step-results.js';
import { initialSteps, type OutputFile, type StepName, type StepRecord } from './steps.js';

export {
  STEP_NAMES,
  OPTIONAL_STEPS,
  initialSteps,
  overallProgress,
  type StepName,
  type StepState,
  type StepRecord,
  type OutputFile,
} from './steps.js';

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
  /** INGEST_TRANSCRIBE (+ whisper.cpp paths); absent: off. */
  transcribe?: TranscribeSettings;
}

/** The processing report: the edit numbers the original client reads, and the rest of what was found. */
export interface ProcessingReport extends Omit<EditReport, 'cuts' | 'output'> {
  media: MediaInfo;
  loudness: { integrated_lufs: number | null; loudness_range_lu: number | null } | null;
  silences: AudioAnalysis['silences'];
  silence_threshold_db: number;
  silence_min_seconds: number;
  cuts: EditReport['cuts'];
  web: {
    output: string;
    video: WebResult['video'];
    audio: WebResult['audio'];
    /** The web copy's soft subtitle track ("mov_text"), or null. */
    subtitles: WebResult['subtitles'];
  };
  edited_output: string | null;
  thumbnail: string | null;
  contact_sheet: string | null;
  chapters: Chapter[] | null;
  /** The transcript's summary (its words are in transcript.json); null when not transcribed. */
  transcript: {
    engine: string;
    language: string;
    word_count: number;
    output: string;
    subtitles: { vtt: string; srt: string };
  } | null;
  /** timeline.json (loudness curve, silences, cuts, chapters, sprite), or null without audio. */
  timeline: string | null;
  /** Optional steps (OPTIONAL_STEPS) that failed without failing the job; empty when none did. */
  failed_steps: Array<{ name: StepName; code: string; message: string }>;
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

/** The name the report is written under in the output folder. */
export const REPORT_NAME = 'report.json';

// The files each optional step writes (removed when it is skipped or fails).
const THUMBNAIL_FILES = [THUMBNAIL_NAME, CONTACT_SHEET_NAME, SPRITE_NAME];
const AUDIO_FILES = [TIMELINE_NAME];
const TRANSCRIBE_FILES = [TRANSCRIPT_NAME, SUBTITLES_VTT_NAME, SUBTITLES_SRT_NAME];
const CHAPTERS_FILES = [CHAPTERS_JSON_NAME, CHAPTERS_VTT_NAME];

/**
 * Runs the whole pipeline on one upload and returns the report. The steps run one after the other
 * through a StepRunner (time limit, progress, resume); the first essential step that fails stops
 * the run with its AppError (NOT_A_MEDIA_FILE, CORRUPT_MEDIA, STEP_TIMEOUT, FFMPEG_FAILED, ...),
 * while an optional one (OPTIONAL_STEPS) is recorded as failed and the run goes on. Outputs are
 * written under `outputDir`, each renamed into place only when complete.
 */
export async function runPipeline(
  input: string,
  outputDir: string,
  settings: PipelineSettings,
  hooks: PipelineHooks = {},
): Promise<{ report: ProcessingReport; outputs: OutputFile[]; steps: StepRecord[] }> {
  await mkdir(outputDir, { recursive: true });
  // The report is written last: until then an earlier run's would describe files this run replaces.
  await rm(path.join(outputDir, REPORT_NAME), { force: true });
  const runner = new StepRunner(initialSteps(), {
    outputDir,
    signal: hooks.signal,
    now: hooks.now ?? (() => new Date()),
    timeoutOf: (name) => settings.stepTimeoutOverridesMs?.[name] ?? settings.stepTimeoutMs,
    onSpawn: hooks.onSpawn,
    onUpdate: hooks.onUpdate,
  });
  await runner.adopt(hooks.previous);

  const media = await runner.run({
    name: 'probe',
    schema: mediaInfoSchema,
    files: [],
    work: (limits) => probeMedia(input, limits),
  });
  const thumbs = await thumbnailStep(runner, input, outputDir, media);
  const chapters = await chaptersStep(runner, input, outputDir, media, settings);
  const pad = settings.cutPadSeconds ?? DEFAULT_CUT_PAD_SECONDS;
  const audio = await audioStep(runner, input, outputDir, media, settings, {
    sprite: thumbs?.sprite ?? null,
    chapters,
  });
  const silences = audio?.silences ?? [];
  const transcript = await transcribeStep(runner, input, outputDir, media, silences, settings);
  const web = await runner.run({
    name: 'web',
    schema: webResultSchema,
    files: [WEB_NAME],
    work: (limits) =>
      makeWebVersion(
        input,
        outputDir,
        media,
        limits,
        transcript && transcript.segment_count > 0
          ? { file: path.join(outputDir, SUBTITLES_SRT_NAME), language: transcript.language }
          : null,
      ),
  });
  const edit = await runner.run({
    name: 'edit',
    schema: editReportSchema,
    files: [EDITED_NAME],
    written: (result) => (result.output === null ? [] : [result.output]),
    work: (limits) => makeEdit(input, outputDir, media, silences, { padSeconds: pad }, limits),
  });

  const steps = runner.snapshot();
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
    web: { output: path.basename(web.path), video: web.video, audio: web.audio, subtitles: web.subtitles },
    edited_output: edit.output,
    edit_mode: edit.edit_mode,
    edit_fallback_reason: edit.edit_fallback_reason,
    reencoded_seconds: edit.reencoded_seconds,
    thumbnail: thumbs ? path.basename(thumbs.thumbnail) : null,
    contact_sheet: thumbs ? path.basename(thumbs.contactSheet) : null,
    chapters,
    transcript: transcript
      ? {
          engine: transcript.engine,
          language: transcript.language,
          word_count: transcript.word_count,
          output: TRANSCRIPT_NAME,
          subtitles: { vtt: SUBTITLES_VTT_NAME, srt: SUBTITLES_SRT_NAME },
        }
      : null,
    timeline: audio ? TIMELINE_NAME : null,
    failed_steps: steps.flatMap((s) =>
      s.state === 'failed' && s.error ? [{ name: s.name, code: s.error.code, message: s.error.message }] : [],
    ),
  };
  await writeOutput(outputDir, REPORT_NAME, (tmp) => writeFile(tmp, JSON.stringify(report, null, 2)));
  return { report, outputs: await listOutputs(outputDir), steps };
}

function thumbnailStep(
  runner: StepRunner,
  input: string,
  outputDir: string,
  media: MediaInfo,
): Promise<ThumbnailResult | null> {
  if (!media.video) {
    return runner.skip('thumbnail', 'no video stream', THUMBNAIL_FILES).then(() => null);
  }
  return runner.run({
    name: 'thumbnail',
    optional: true,
    schema: thumbnailResultSchema,
    files: THUMBNAIL_FILES,
    work: (limits) => makeThumbnails(input, outputDir, media, limits),
  });
}

/**
 * audio: loudness and silences, and timeline.json (momentary loudness every 100 ms, silences, the
 * cuts the edit will make, chapters, the sprite). The loudness curve goes to the file only: the
 * stored step result stays small.
 */
function audioStep(
  runner: StepRunner,
  input: string,
  outputDir: string,
  media: MediaInfo,
  settings: PipelineSettings,
  earlier: { sprite: SpriteSheet | null; chapters: Chapter[] | null },
): Promise<AudioAnalysis | null> {
  if (!media.audio) {
    return runner.skip('audio', 'no audio stream', AUDIO_FILES).then(() => null);
  }
  const silence = { thresholdDb: settings.silenceThresholdDb, minSeconds: settings.silenceMinSeconds };
  return runner.run({
    name: 'audio',
    schema: audioAnalysisSchema,
    files: AUDIO_FILES,
    work: async (limits) => {
      const { momentaryLufs, ...analysis } = await analyseAudio(input, media, silence, limits);
      const pad = settings.cutPadSeconds ?? DEFAULT_CUT_PAD_SECONDS;
      await writeTimeline(outputDir, {
        duration: media.durationSeconds,
        momentary: momentaryLufs,
        integrated: analysis.integratedLufs,
        range: analysis.loudnessRangeLu,
        silences: analysis.silences,
        cuts: planCuts(analysis.silences, media.durationSeconds, pad),
        chapters: earlier.chapters,
        sprite: earlier.sprite,
      });
      return analysis;
    },
  });
}

function transcribeStep(
  runner: StepRunner,
  input: string,
  outputDir: string,
  media: MediaInfo,
  silences: AudioAnalysis['silences'],
  settings: PipelineSettings,
): Promise<TranscribeResult | null> {
  const engine = settings.transcribe?.engine ?? 'off';
  const why = engine === 'off' ? 'INGEST_TRANSCRIBE is off' : !media.audio ? 'no audio stream' : null;
  if (why !== null) {
    return runner.skip('transcribe', why, TRANSCRIBE_FILES).then(() => null);
  }
  return runner.run({
    name: 'transcribe',
    optional: true,
    schema: transcribeResultSchema,
    files: TRANSCRIBE_FILES,
    work: (limits) =>
      transcribe(
        input,
        outputDir,
        media,
        silences,
        engineFor(settings.transcribe ?? { engine: 'off' }),
        limits,
      ),
  });
}

function chaptersStep(
  runner: StepRunner,
  input: string,
  outputDir: string,
  media: MediaInfo,
  settings: PipelineSettings,
): Promise<Chapter[] | null> {
  const why = !settings.chapters ? 'INGEST_CHAPTERS is off' : !media.video ? 'no video stream' : null;
  if (why !== null) {
    return runner.skip('chapters', why, CHAPTERS_FILES).then(() => null);
  }
  return runner.run({
    name: 'chapters',
    optional: true,
    schema: chaptersSchema,
    files: CHAPTERS_FILES,
    work: (limits) =>
      detectChapters(input, outputDir, media, settings.chapterSettings ?? DEFAULT_CHAPTER_SETTINGS, limits),
  });
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

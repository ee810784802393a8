/**
 * The steps, in the order they run. Chapters come before audio because the audio step writes
 * the timeline (which shows them); transcribe comes before web because the web copy carries the
 * subtitles it makes, and after audio because it cuts long audio at the silences found there.
 */
export const STEP_NAMES = ['probe', 'thumbnail', 'chapters', 'audio', 'transcribe', 'web', 'edit'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/**
 * Steps whose failure does not fail the job: the report's numbers (durations, cuts, loudness) and
 * the files it is for (web copy, edit) do not depend on them, and the report already has an empty
 * value for them (null thumbnail, null chapters, null transcript) when they do not apply. Such a step that fails is
 * recorded "failed" with its error, its outputs are removed, the job goes on and ends "done", and
 * the report lists it in `failed_steps`. Every other step (probe, web, audio, edit) fails the job.
 */
export const OPTIONAL_STEPS: ReadonlySet<StepName> = new Set<StepName>([
  'thumbnail',
  'chapters',
  'transcribe',
]);

/** A step's state: pending → running → done | skipped | failed. */
export type StepState = 'pending' | 'running' | 'done' | 'skipped' | 'failed';

/** A file the pipeline wrote, as listed in the status. */
export interface OutputFile {
  name: string;
  size: number;
}

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
  /** What the step found, kept so that a restarted job resumes after it (validated on resume). */
  result?: unknown;
  /**
   * The files a finished step wrote, with their sizes when it finished. A resumed job runs the
   * step again when one of them is missing or has another size (or when none were recorded).
   */
  outputs?: OutputFile[];
}

// Rough share of the work of each step, so the overall progress moves evenly.
const WEIGHTS: Record<StepName, number> = {
  probe: 1,
  thumbnail: 1,
  chapters: 3,
  audio: 2,
  transcribe: 8,
  web: 3,
  edit: 5,
};

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

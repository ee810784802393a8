import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { AppError, toAppError } from '../errors/index.js';
import type { RunLimits } from './run-ffmpeg.js';
import { overallProgress, type OutputFile, type StepName, type StepRecord } from './steps.js';

/** What a step's work gets: where progress goes, how it is stopped, and the child hooks. */
export type StepLimits = RunLimits & { timeoutMs: number; signal: AbortSignal };

/** How the runner runs one step. */
export interface StepSpec<T> {
  name: StepName;
  /** Validates a stored result on resume: one that does not parse is run again. */
  schema: z.ZodType<T>;
  work: (limits: StepLimits) => Promise<T>;
  /** Every file the step may write in the output folder. */
  files: readonly string[];
  /** The files a given result wrote (default: all of `files`), recorded with their sizes for resume. */
  written?: (result: T) => readonly string[];
  /**
   * An optional step's failure does not end the run: it is recorded "failed", its files are
   * removed (the outputs never list half of what it makes) and the run goes on with null.
   */
  optional?: boolean;
}

export interface StepRunnerOptions {
  outputDir: string;
  signal?: AbortSignal | undefined;
  now: () => Date;
  timeoutOf: (name: StepName) => number;
  onSpawn?: ((pid: number) => void) | undefined;
  onUpdate?: ((steps: StepRecord[], progress: number) => void) | undefined;
}

/**
 * Runs the pipeline's steps one at a time and keeps their records: pending → running → done |
 * skipped | failed (and back to pending when the job is stopped from outside). Each step has one
 * time limit however many ffmpeg runs it makes. A step finished by an earlier run is kept when its
 * files are intact and its stored result still has today's shape; otherwise it runs again.
 */
export class StepRunner {
  constructor(
    private readonly steps: StepRecord[],
    private readonly options: StepRunnerOptions,
  ) {}

  /** Copies of the records, for the caller's result. */
  snapshot(): StepRecord[] {
    return this.steps.map((s) => ({ ...s }));
  }

  /**
   * Takes over the finished steps of an interrupted run whose files are all still there with the
   * recorded sizes. Their results are validated later, when each step comes up (run()).
   */
  async adopt(previous: StepRecord[] | undefined): Promise<void> {
    for (const old of previous ?? []) {
      const i = this.steps.findIndex((s) => s.name === old.name);
      if (i < 0 || old.state !== 'done' || old.result === undefined) continue;
      if (await outputsIntact(this.options.outputDir, old.outputs)) this.steps[i] = { ...old };
    }
  }

  /** Runs a step (or returns its kept result); an essential step's failure is thrown as an AppError. */
  async run<T>(spec: StepSpec<T> & { optional?: false }): Promise<T>;
  async run<T>(spec: StepSpec<T> & { optional: true }): Promise<T | null>;
  async run<T>(spec: StepSpec<T>): Promise<T | null> {
    const record = this.record(spec.name);
    if (record.state === 'done') {
      const kept = spec.schema.safeParse(record.result);
      if (kept.success) return kept.data;
      // Written by a version whose result had another shape: not trusted, the step runs again.
    }
    try {
      return await this.execute(spec, record);
    } catch (error) {
      if (!spec.optional || this.options.signal?.aborted || record.state !== 'failed') throw error;
      await this.removeFiles(spec.files);
      return null;
    }
  }

  /**
   * Marks a step skipped (e.g. "no video stream"); its result is null, and the files it writes are
   * removed: an earlier run's must not be listed as this one's.
   */
  async skip(name: StepName, note: string, files: readonly string[] = []): Promise<void> {
    await this.removeFiles(files);
    Object.assign(this.record(name), {
      state: 'skipped',
      progress: 1,
      note,
      started_at: null,
      finished_at: this.options.now().toISOString(),
      result: null,
    });
    this.update();
  }

  /** Removes a step's files from the output folder (those that exist). */
  private async removeFiles(files: readonly string[]): Promise<void> {
    await Promise.all(files.map((file) => rm(path.join(this.options.outputDir, file), { force: true })));
  }

  private async execute<T>(spec: StepSpec<T>, record: StepRecord): Promise<T> {
    const { signal, now } = this.options;
    if (signal?.aborted) throw toAppError(signal.reason);
    // A step that runs starts from an empty slate: a file an earlier run of it wrote and this one
    // does not (an edit when this run finds nothing to cut) must not stay among the outputs.
    await this.removeFiles(spec.files);
    Object.assign(record, {
      state: 'running',
      progress: 0,
      started_at: now().toISOString(),
      finished_at: null,
    });
    delete record.error;
    delete record.outputs;
    delete record.note;
    delete record.result;
    this.update();

    const controller = new AbortController();
    const timeoutMs = this.options.timeoutOf(spec.name);
    const timer = setTimeout(
      () =>
        controller.abort(
          new AppError('STEP_TIMEOUT', `${spec.name} took longer than ${Math.round(timeoutMs / 1000)} s`),
        ),
      timeoutMs,
    );
    const onJobAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onJobAbort, { once: true });
    // The job may have been stopped by a listener of the update above, before this listener existed.
    if (signal?.aborted) onJobAbort();
    let lastTick = 0;
    const onProgress = (fraction: number): void => {
      // ffmpeg reports twice a second; a hundredth of a step is as fine as anyone reads.
      if (fraction - lastTick < 0.01 && fraction < 1) return;
      lastTick = fraction;
      record.progress = Math.round(Math.min(1, Math.max(record.progress, fraction)) * 1000) / 1000;
      this.update();
    };
    try {
      const result = await spec.work({
        timeoutMs,
        signal: controller.signal,
        onProgress,
        onSpawn: this.options.onSpawn,
      });
      const outputs = await measure(this.options.outputDir, spec.written?.(result) ?? spec.files);
      Object.assign(record, {
        state: 'done',
        progress: 1,
        finished_at: now().toISOString(),
        result,
        outputs,
      });
      this.update();
      return result;
    } catch (error) {
      const appError = toAppError(
        controller.signal.aborted ? controller.signal.reason : error,
        `${spec.name} failed`,
      );
      if (signal?.aborted) {
        // Stopped from outside (re-queued, server closing): the step did not fail, it will run again.
        Object.assign(record, { state: 'pending', progress: 0, started_at: null, finished_at: null });
        this.update();
        throw appError;
      }
      const reported =
        appError.code === 'INTERNAL_ERROR' && error instanceof Error ? error.message : appError.message;
      Object.assign(record, {
        state: 'failed',
        finished_at: now().toISOString(),
        error: { code: appError.code, message: reported },
      });
      this.update();
      throw appError;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onJobAbort);
    }
  }

  private record(name: StepName): StepRecord {
    const record = this.steps.find((s) => s.name === name);
    if (!record) throw new AppError('INTERNAL_ERROR', `unknown step ${name}`);
    return record;
  }

  private update(): void {
    this.options.onUpdate?.(this.snapshot(), overallProgress(this.steps));
  }
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

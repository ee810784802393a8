import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { AppError } from '../errors/index.js';
import { ffmpegPath, ffprobePath } from '../media/index.js';

/** Where a step is told how far ffmpeg has got: a fraction from 0 to 1. */
export type ProgressListener = (fraction: number) => void;

/** What every ffmpeg/ffprobe run needs: a time limit, a way to be stopped, and where progress goes. */
export interface RunLimits {
  /** Milliseconds before the child is killed and the step fails with STEP_TIMEOUT. */
  timeoutMs: number;
  /** Aborting kills the child at once (job cancelled, service closing). */
  signal?: AbortSignal | undefined;
  /** Receives the fraction done, parsed from `-progress pipe:1`. */
  onProgress?: ProgressListener | undefined;
  /** Called with the child's pid once it is spawned (the service records it so a restart can reap it). */
  onSpawn?: ((pid: number) => void) | undefined;
}

/** The outcome of a child that exited on its own. */
export interface RunResult {
  code: number | null;
  stdout: string;
  /** Whole stderr: silencedetect, ebur128 and showinfo report there. Bounded by MAX_CAPTURE. */
  stderr: string;
}

// Enough for hours of silencedetect/showinfo lines; a runaway child cannot eat the heap.
const MAX_CAPTURE = 32 * 1024 * 1024;

// ffmpeg ignores a closed progress pipe, so an ffmpeg orphaned by a crash of this process would
// run on for hours. On Linux, util-linux's setpriv sets the parent-death signal and then execs the
// binary (same pid): the kernel SIGKILLs it the moment this process dies, however it dies.
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find(
  (candidate) => process.platform === 'linux' && existsSync(candidate),
);

/** Whether children are tied to this process's life by the kernel (see SETPRIV). */
export const childrenDieWithParent = SETPRIV !== undefined;

/**
 * Spawns a packaged binary and resolves when it exits. It never outlives its caller's wishes:
 * the time limit and the abort signal both SIGKILL it, and so does the kernel if this process dies
 * (where setpriv exists). stdin is closed so ffmpeg never waits on a terminal.
 */
export function runBinary(
  binary: string,
  args: string[],
  limits: RunLimits & { progressDurationSeconds?: number | undefined },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    if (limits.signal?.aborted) {
      reject(abortError(limits.signal));
      return;
    }
    const child = SETPRIV
      ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', binary, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let settled = false;
    let failure: AppError | undefined;

    const kill = (error: AppError): void => {
      failure ??= error;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () =>
        kill(new AppError('STEP_TIMEOUT', `step took longer than ${Math.round(limits.timeoutMs / 1000)} s`)),
      limits.timeoutMs,
    );
    const onAbort = (): void => kill(abortError(limits.signal));
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    if (child.pid !== undefined) limits.onSpawn?.(child.pid);

    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (limits.progressDurationSeconds === undefined) {
        if (stdout.length < MAX_CAPTURE) stdout += chunk;
        return;
      }
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const fraction = progressFromLine(line, limits.progressDurationSeconds);
        if (fraction !== undefined) limits.onProgress?.(fraction);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < MAX_CAPTURE) stderr += chunk;
    });

    const finish = (error: AppError | undefined, code: number | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ code, stdout, stderr });
    };
    child.on('error', (error) =>
      finish(new AppError('FFMPEG_FAILED', `could not start ${binary}`, { cause: error }), null),
    );
    child.on('close', (code) => finish(failure, code));
  });
}

/** Reads one `key=value` line of ffmpeg's `-progress` output into a fraction of the duration. */
export function progressFromLine(line: string, durationSeconds: number): number | undefined {
  const eq = line.indexOf('=');
  if (eq < 0) return undefined;
  const key = line.slice(0, eq).trim();
  const value = line.slice(eq + 1).trim();
  if (key === 'progress' && value === 'end') return 1;
  // Old ffmpeg builds spell microseconds "out_time_ms"; both carry the same number.
  if ((key === 'out_time_us' || key === 'out_time_ms') && durationSeconds > 0) {
    const us = Number(value);
    if (!Number.isFinite(us) || us < 0) return undefined;
    return Math.min(1, us / 1e6 / durationSeconds);
  }
  return undefined;
}

/**
 * Runs the packaged ffmpeg with progress reporting; a non-zero exit becomes FFMPEG_FAILED carrying
 * the last lines of stderr (the useful part of an ffmpeg failure).
 */
export async function runFfmpeg(
  args: string[],
  limits: RunLimits & { durationSeconds: number },
): Promise<RunResult> {
  const result = await runBinary(
    ffmpegPath,
    ['-hide_banner', '-nostdin', '-nostats', '-y', '-progress', 'pipe:1', ...args],
    { ...limits, progressDurationSeconds: limits.durationSeconds },
  );
  if (result.code !== 0) {
    throw new AppError(
      'FFMPEG_FAILED',
      `ffmpeg exited with code ${result.code}: ${lastLines(result.stderr)}`,
    );
  }
  limits.onProgress?.(1);
  return result;
}

/** Runs the packaged ffprobe and returns its exit code, stdout and stderr. */
export function runFfprobe(args: string[], limits: RunLimits): Promise<RunResult> {
  return runBinary(ffprobePath, ['-hide_banner', ...args], limits);
}

/** The last few non-empty lines of a child's stderr, for an error message. */
export function lastLines(text: string, count = 3): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(-count)
    .join(' | ')
    .slice(0, 600);
}

function abortError(signal: AbortSignal | undefined): AppError {
  const reason: unknown = signal?.reason;
  if (reason instanceof AppError) return reason;
  return new AppError('PROCESSING_CANCELLED', 'processing was stopped');
}

// Shared by the fault suite (test/faults/*.test.ts, run by `npm run test:faults`): real
// processes of the built CLI (bin/streamai.js → dist/, so `npm run build` first; the runner
// does it), a seeded random source so a failing run can be replayed (FAULT_SEED), and the
// figures each scenario writes for docs/RELIABILITY.md.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

export const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'bin', 'streamai.js');
export const MiB = 1024 * 1024;

/** Where each scenario's figures go; the runner turns them into docs/RELIABILITY.md's table. */
export const resultsDir = process.env.FAULT_RESULTS_DIR ?? path.join(root, 'artifacts', 'faults');

function assertBuilt(): void {
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error(
      'the fault suite runs the built CLI: run `npm run build` first (npm run test:faults does)',
    );
  }
}

/** Deterministic random numbers (mulberry32), seeded from FAULT_SEED or the clock. */
export function seededRandom(label: string): {
  seed: number;
  next: () => number;
  int: (lo: number, hi: number) => number;
} {
  let seed = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);
  for (const c of label) seed = (seed * 31 + c.charCodeAt(0)) >>> 0;
  const start = seed;
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let r = Math.imul(a ^ (a >>> 15), 1 | a);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return { seed: start, next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

/** A running CLI process and what it printed so far. */
export interface CliProcess {
  child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * `node bin/streamai.js <args>` in `cwd` (so no project .env is read), with only `env` on top of
 * PATH and HOME. Killed (SIGKILL) when the test ends if still running.
 */
export function spawnStreamai(
  t: TestContext,
  args: string[],
  env: Record<string, string>,
  cwd: string,
): CliProcess {
  assertBuilt();
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
  };
}

/** Waits until `text` appears in the process's stdout (or it exits, or time runs out). */
export async function waitForOutput(
  cli: CliProcess,
  pattern: RegExp,
  timeoutMs = 60_000,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(cli.stdout);
    if (match) return match;
    if (cli.child.exitCode !== null || cli.child.signalCode !== null) {
      throw new Error(
        `process exited (${cli.child.exitCode ?? cli.child.signalCode}) before ${pattern}: ${cli.stdout} ${cli.stderr}`,
      );
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${pattern}: ${cli.stdout} ${cli.stderr}`);
    await sleep(25);
  }
}

/** Sends `signal` and waits for the process to be gone. */
export async function kill(cli: CliProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill(signal);
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), 15_000);
  await cli.exited;
  clearTimeout(timer);
}

/** A `streamai ingest` process on a fixed loopback port (so a restart keeps its URL). */
export interface IngestProcess {
  cli: CliProcess;
  url: string;
  pid: number;
}

export async function startIngest(
  t: TestContext,
  options: { dir: string; dataDir: string; port: number; env?: Record<string, string> },
): Promise<IngestProcess> {
  const cli = spawnStreamai(
    t,
    ['ingest', '--port', String(options.port), '--data-dir', options.dataDir],
    {
      STREAMAI_LOG_FILE: path.join(options.dir, 'logs', 'streamai.log'),
      INGEST_DISK_RESERVE_BYTES: '0',
      ...options.env,
    },
    options.dir,
  );
  const match = await waitForOutput(cli, /listening on (https?:\/\/\S+)/);
  return { cli, url: match[1] ?? '', pid: cli.child.pid ?? 0 };
}

/** Peak resident memory (VmHWM) of a live process, in bytes; 0 when it cannot be read. */
export async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match?.[1] ? Number(match[1]) * 1024 : 0;
}

/** GET /status/:task_id on an ingest server: its JSON, or undefined on any error. */
export async function ingestStatus(
  url: string,
  taskId: string,
): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await fetch(`${url}/status/${encodeURIComponent(taskId)}`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!response.ok) return undefined;
    return (await response.json()) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls `check` until it returns a value or the time runs out (then throws naming `what`). */
export async function until<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** One scenario's figures for docs/RELIABILITY.md. */
export interface Figures {
  /** Faults injected. */
  faults: number;
  /** Outcome counts, e.g. { completed: 20 }. */
  outcomes: Record<string, number>;
  /** Other measured figures (max bytes sent twice, peak RSS, …). */
  notes: string[];
  /** Marks the scenario passed; called as the test body's last line. */
  pass(): void;
  count(outcome: string, by?: number): void;
}

/**
 * Figures of one scenario, written to `<resultsDir>/<id>.json` when the test ends — with
 * `passed: false` unless the body reached `pass()`, so a failed scenario still shows up.
 */
export function scenario(t: TestContext, id: string, title: string, expectation: string): Figures {
  let passed = false;
  const started = Date.now();
  const figures: Figures = {
    faults: 0,
    outcomes: {},
    notes: [],
    pass: () => {
      passed = true;
    },
    count(outcome, by = 1) {
      figures.outcomes[outcome] = (figures.outcomes[outcome] ?? 0) + by;
    },
  };
  t.after(async () => {
    await mkdir(resultsDir, { recursive: true });
    const record = {
      id,
      title,
      expectation,
      passed,
      faults: figures.faults,
      outcomes: figures.outcomes,
      notes: figures.notes,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      node: process.version,
    };
    await writeFile(path.join(resultsDir, `${id}.json`), JSON.stringify(record, null, 2));
  });
  return figures;
}

/**
 * `service.waitFor(taskId)`, bounded: past `timeoutMs` it throws with the task as it stands
 * (state, bytes, last error), so a stuck upload fails the scenario instead of hanging the suite.
 */
export async function settled<T extends { state: string }>(
  service: { waitFor(id: string): Promise<T>; get(id: string): T | undefined },
  taskId: string,
  timeoutMs = 90_000,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `task ${taskId} not finished after ${timeoutMs} ms: ${JSON.stringify(service.get(taskId))}`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.waitFor(taskId), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Environment of a `streamai serve` process for the fault suite: ffmpeg test-pattern recorder,
 * everything under `dir`, uploading to `apiUrl` (an external ingest server, so none is embedded).
 */
export function stationEnv(dir: string, port: number, apiUrl: string): Record<string, string> {
  return {
    PORT: String(port),
    RECORDER: 'ffmpeg',
    FFMPEG_SOURCE: 'testsrc',
    RECORDINGS_PATH: path.join(dir, 'recordings'),
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'logs', 'streamai.log'),
    VULTR_API_URL: apiUrl,
  };
}

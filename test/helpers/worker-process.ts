import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CleanupScope } from './service-process.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface WorkerProcess {
  child: ChildProcess;
  /** JSON log lines the worker printed. */
  logs: Array<Record<string, unknown>>;
}

/** A real `streamai worker` process on the shared data folder; resolves once it says it is ready. */
export async function startWorker(
  t: CleanupScope,
  env: Record<string, string>,
  dataDir: string,
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(root, 'src/cli/main.ts'),
      'worker',
      '--concurrency',
      '1',
      '--data-dir',
      dataDir,
    ],
    { cwd: root, env: { ...process.env, LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const worker: WorkerProcess = { child, logs: [] };
  let buffered = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith('worker ready')) resolve();
        if (line.startsWith('{')) worker.logs.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready: ${err}`)));
  });
  return worker;
}

/** taskId → how many times one of `workers` logged the outcome "done" for it (exactly once, normally). */
export function doneCounts(workers: WorkerProcess[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of workers.flatMap((w) => w.logs)) {
    if (line.msg === 'queue job finished' && line.outcome === 'done') {
      const id = String(line.taskId);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Polls `check` every 200 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 180_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

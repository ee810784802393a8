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

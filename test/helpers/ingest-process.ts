import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { CleanupScope } from './service-process.js';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Runs an ingest server as a child process (so that a test can SIGKILL it) and resolves with its
 * URL once it prints `listening on …`. `script` is `src/cli/main.ts` (the real `streamai ingest`)
 * or a fixture that loads less; `args` follow it. Killed when the test ends.
 */
export async function startIngestProcess(
  t: CleanupScope,
  options: { script: string; args: string[]; env: Record<string, string> },
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(root, options.script), ...options.args],
    {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', INGEST_DISK_RESERVE_BYTES: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`ingest exited (${code}) before listening: ${out} ${err}`)));
  });
  return { child, url };
}

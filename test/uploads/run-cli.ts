import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const main = path.join(root, 'src', 'cli', 'main.ts');
const tsx = import.meta.resolve('tsx');

/**
 * Starts `streamai <args>` as a child process (`node --import tsx src/cli/main.ts`), in `cwd`
 * (so no .env of the project is read) with only the given variables on top of PATH.
 */
export function spawnCli(args: string[], env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, ['--import', tsx, main, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Runs `streamai <args>` to the end: its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return untilExit(spawnCli(args, env, cwd));
}

/**
 * Runs the built `streamai <args>` (bin/streamai.js over dist/, so `npm run build` first) to the
 * end, as runCli does the sources; SIGKILLed after `timeoutMs` (code null), so a hang fails.
 */
export async function runBuiltCli(
  args: string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('this test runs the built CLI: run `npm run build` first');
  }
  const child = spawn(process.execPath, [path.join(root, 'bin', 'streamai.js'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    return await untilExit(child);
  } finally {
    clearTimeout(timer);
  }
}

async function untilExit(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  return { code, stdout, stderr };
}

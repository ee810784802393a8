import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** The CLI's entry, run through tsx like the tests themselves. */
export const CLI_MAIN = path.resolve('src/cli/main.ts');

/** A TCP port that was free a moment ago on 127.0.0.1 (one helper for every test). */
export { freePort } from './service-process.js';

/**
 * `streamai serve` as a real child process, resolved once it printed its banner (with what it
 * printed); killed when the test ends if still running.
 */
export async function serveStation(
  t: TestContext,
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`station did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`station exited ${code}: ${out}`)));
  });
  return { child, out };
}

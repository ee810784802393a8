import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { StationServer } from '../../src/api/index.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/**
 * A running station on 127.0.0.1, port 0: ffmpeg test-pattern recorder, embedded ingest server,
 * everything in a temporary folder. Closed when the test ends.
 */
export async function startStation(
  t: TestContext,
  env: Record<string, string> = {},
  options: { host?: string } = {},
): Promise<{ url: string; server: StationServer; config: Config; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-station-'));
  const config = loadConfig({
    env: {
      RECORDINGS_PATH: path.join(dir, 'recordings'),
      STREAMAI_DATA_DIR: path.join(dir, 'data'),
      INGEST_DATA_DIR: path.join(dir, 'ingest-data'),
      STREAMAI_LOG_FILE: path.join(dir, 'logs', 'streamai.log'),
      INGEST_DISK_RESERVE_BYTES: '1MiB',
      RECORDER: 'ffmpeg',
      FFMPEG_SOURCE: 'testsrc',
      VULTR_UPLOAD_STALL_TIMEOUT: '20',
      ...env,
    },
    envFile: false,
  });
  const server = new StationServer({ config, logger: silentLogger(), port: 0, ...options });
  // One hook, in this order: the station's last metadata writes land before the folder goes.
  t.after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });
  const url = await server.start();
  return { url, server, config, dir };
}

/** fetch + JSON, with the status kept. */
export async function call(
  url: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const response = await fetch(url, { ...init, headers, body });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1 (one helper for every test). */
export { freePort } from './service-process.js';

/** The environment of a real `streamai serve` on 127.0.0.1:`port`, everything under `dir`. */
export function serveEnv(dir: string, port: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    RECORDINGS_PATH: path.join(dir, 'recordings'),
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    RECORDER: 'ffmpeg',
    FFMPEG_SOURCE: 'testsrc',
    ...extra,
  };
}

/**
 * The real `streamai serve` (bin/streamai.js over dist/, so `npm run build` first), resolved once
 * it prints "Press Ctrl-C"; SIGKILLed when the test ends if still running. Its output is kept in
 * `output` for failure messages.
 */
export async function startServeProcess(
  t: TestContext,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<ChildProcess & { output: () => string }> {
  const child = spawn(process.execPath, [path.resolve('bin/streamai.js'), 'serve', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`station did not start: ${out}`)), 60_000);
    const onData = () => {
      if (out.includes('Press Ctrl-C')) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`station exited ${code}: ${out}`));
    };
    child.stdout.on('data', onData);
    child.on('exit', onExit);
  });
  return Object.assign(child, { output: () => out });
}

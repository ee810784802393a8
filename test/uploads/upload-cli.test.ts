import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startLegacyServer } from './legacy-server.js';
import { runCli } from './run-cli.js';
import { makeBigClip, openService, testSettings } from './upload-fixtures.js';

const MiB = 1024 * 1024;

async function serverOptions(url: string, taskId: string): Promise<[string, boolean]> {
  const body = (await (await fetch(`${url}/status/${taskId}`)).json()) as {
    upload: { session_name: string; auto_process: boolean };
  };
  return [body.upload.session_name, body.upload.auto_process];
}

function envFor(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    ...extra,
  };
}

test('streamai test checks configuration, health, auth, a round trip and its status, one ✓ line each', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t, { apiKeys: ['secret'] });

  const good = await runCli(
    ['test'],
    envFor(dir, { VULTR_API_URL: ingest.url, VULTR_API_KEY: 'secret' }),
    dir,
  );
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const lines = good.stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(':')[0]),
    ['✓ ffmpeg', '✓ configuration', '✓ health', '✓ auth', '✓ upload', '✓ status'],
  );
  // The ffmpeg in use: the system's 5.1+ (installed by the test command), not the 2018 fallback.
  assert.match(lines[0] ?? '', /^✓ ffmpeg: ffmpeg \d+\.\d+.*\(system, /);

  const bad = await runCli(['test'], envFor(dir, { VULTR_API_URL: ingest.url, VULTR_API_KEY: 'wrong' }), dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^✗ auth: .*VULTR_API_KEY/m);
});

test('upload, uploads and upload-status show a task locally and on the server', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'clip one.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const env = envFor(dir, { VULTR_API_URL: ingest.url });

  const upload = await runCli(['upload', file, '--session-name', 'Morning', '--no-process'], env, dir);
  assert.equal(upload.code, 0, upload.stderr);
  const [taskId, result] = upload.stdout.trim().split('\n');
  assert.match(taskId ?? '', /^task_/);
  assert.match(result ?? '', /^completed task_.*clip one\.mkv.*sha256 [0-9a-f]{64} confirmed/);

  const list = await runCli(['uploads', '--json', '--limit', '5'], env, dir);
  assert.equal(list.code, 0, list.stderr);
  const tasks = JSON.parse(list.stdout) as Array<{ id: string; state: string; sessionName: string }>;
  assert.deepEqual(
    tasks.map((x) => [x.id, x.state, x.sessionName]),
    [[taskId, 'completed', 'Morning']],
  );

  const status = await runCli(['upload-status', taskId as string, '--json'], env, dir);
  assert.equal(status.code, 0, status.stderr);
  const body = JSON.parse(status.stdout) as {
    history: Array<{ state: string }>;
    remote: { upload: { auto_process: boolean; session_name: string } };
  };
  assert.equal(body.history.at(-1)?.state, 'completed');
  assert.equal(body.remote.upload.auto_process, false);
  assert.equal(body.remote.upload.session_name, 'Morning');
});

test('upload again after a crash: new options apply until the server holds the upload, then one line says they were kept', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 4 * MiB });
  const settings = testSettings(dataDir, proxy.url, { chunkSizeBytes: 2 * MiB });
  const env = envFor(dir, { VULTR_API_URL: proxy.url });

  // Left behind before anything reached the server, and after tus created the upload there.
  const small = await makeClip(path.join(dir, 'small.mkv'), { format: 'matroska' });
  const big = await makeBigClip(path.join(dir, 'big.mkv'), 12 * MiB);
  const before = openService(t, dataDir, settings);
  const created = await before.service.enqueue(big, { sessionName: 'Old' });
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const task = before.service.get(created.id);
      if (task?.remoteUrl != null && task.bytesSent > 0) resolve(clearInterval(timer));
    }, 20);
  });
  await before.service.close();
  before.db.close();
  // In a data folder of its own: `streamai upload` resumes every unfinished task of its folder.
  const idleDir = path.join(dir, 'data-idle');
  const idle = openService(t, idleDir, testSettings(idleDir, proxy.url), { start: false });
  const queued = await idle.service.enqueue(small, { sessionName: 'Old' });
  await idle.service.close();
  idle.db.close();
  proxy.set({});

  const applied = await runCli(
    ['upload', small, '--session-name', 'New', '--no-process'],
    {
      ...env,
      STREAMAI_DATA_DIR: idleDir,
    },
    dir,
  );
  assert.equal(applied.code, 0, applied.stderr);
  assert.equal(applied.stdout.split('\n')[0], queued.id);
  assert.equal(applied.stderr, '');
  assert.deepEqual(await serverOptions(ingest.url, queued.id), ['New', false]);

  const kept = await runCli(['upload', big, '--session-name', 'New', '--no-process'], env, dir);
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal(kept.stdout.split('\n')[0], created.id);
  assert.match(
    kept.stderr,
    /^note: task_\S+ keeps session name "Old", auto_process=true, not session name "New", auto_process=false: .*tus metadata cannot change after creation\n$/,
  );
  assert.deepEqual(await serverOptions(ingest.url, created.id), ['Old', true]);
});

test('commands that need a server fail with one CONFIG_INVALID line when VULTR_API_URL is unset', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const result = await runCli(['upload', file, '--wait'], envFor(dir), dir);
  assert.equal(result.code, 78);
  assert.equal(result.stderr.trim().split('\n').length, 1);
  assert.match(result.stderr, /^error \[CONFIG_INVALID\]: VULTR_API_URL: is not set/);
  const missing = await runCli(['upload-status', 'task_nope'], envFor(dir), dir);
  assert.equal(missing.code, 66);
  assert.match(missing.stderr, /TASK_NOT_FOUND/);
});

test('streamai upload to a server of the original kind says it was accepted without a checksum', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'old.mkv'), { format: 'matroska' });
  const legacy = await startLegacyServer(t);

  const upload = await runCli(['upload', file], envFor(dir, { VULTR_API_URL: legacy.url }), dir);

  assert.equal(upload.code, 0, upload.stderr);
  const result = upload.stdout.trim().split('\n')[1] ?? '';
  assert.match(
    result,
    /^completed task_.*old\.mkv.*via multipart\), accepted by the server, no checksum reported$/,
  );
  assert.doesNotMatch(result, /confirmed/);
  assert.equal(legacy.uploads.length, 1);
});

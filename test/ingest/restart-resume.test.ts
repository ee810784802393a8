import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { startIngestProcess } from '../helpers/ingest-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import {
  sha256File,
  openTusPatch,
  tusCreate,
  tusOffset,
  tusPatch,
  visibleUploads,
  writeRandomFile,
} from './ingest-support.js';

/**
 * Runs an ingest server as a child process and resolves with its URL once it listens: the
 * `streamai ingest` command itself, or (for the kill test) a fixture that loads only the ingest part.
 */
function startChild(
  t: TestContext,
  dataDir: string,
  logDir: string,
  how: 'cli' | 'fixture' = 'fixture',
): Promise<{ child: ChildProcess; url: string }> {
  return startIngestProcess(t, {
    script: how === 'cli' ? 'src/cli/main.ts' : 'test/ingest/fixtures/ingest-process.ts',
    args: how === 'cli' ? ['ingest', '--port', '0', '--data-dir', dataDir] : [dataDir],
    env: { STREAMAI_LOG_FILE: path.join(logDir, 'streamai.log'), INGEST_API_KEYS: '' },
  });
}

test('tus: the server process killed mid-upload and restarted resumes from its offset to a verified file', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const file = path.join(dir, 'long session.mkv');
  const size = 48 * 1024 * 1024;
  const digest = await writeRandomFile(file, size);
  const data = await readFile(file);

  const first = await startChild(t, dataDir, path.join(dir, 'logs'));
  const created = await tusCreate(first.url, size, {
    filename: 'long session.mkv',
    task_id: 'restart-task',
    sha256: digest,
  });
  assert.equal(created.status, 201);
  const uploadPath = new URL(created.location ?? '').pathname;

  // Stream part of the body, then SIGKILL the server while the request is still open.
  const sent = 20 * 1024 * 1024;
  const req = openTusPatch(`${first.url}${uploadPath}`, size);
  await new Promise<void>((resolve) => req.write(data.subarray(0, sent), () => resolve()));
  // Wait until the server has written some of it, so the kill really lands mid-upload.
  const tusFile = path.join(dataDir, '.tus', path.basename(uploadPath));
  for (let i = 0; i < 200; i++) {
    const size_ = await readFile(tusFile).then(
      (b) => b.length,
      () => 0,
    );
    if (size_ > 0) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  req.destroy();
  assert.deepEqual(await visibleUploads(dataDir), []);

  const second = await startChild(t, dataDir, path.join(dir, 'logs'));
  const uploadUrl = `${second.url}${uploadPath}`;
  const offset = await tusOffset(uploadUrl);
  assert.ok(offset > 0 && offset <= sent, `offset after restart: ${offset}`);
  const status = await request(`${second.url}/status/restart-task`);
  const view = (await status.body.json()) as { state: string };
  assert.equal(view.state, 'receiving');

  const rest = await tusPatch(uploadUrl, offset, data.subarray(offset));
  assert.equal(rest.status, 204);
  assert.equal(rest.headers['upload-sha256'], digest);
  assert.equal(await sha256File(path.join(dataDir, 'restart-task', 'long session.mkv')), digest);

  second.child.kill('SIGTERM');
  const [code] = (await once(second.child, 'exit')) as [number | null];
  assert.equal(code, 0);
});

test('`streamai ingest --port 0 --data-dir …` prints its URL, serves, logs to ingest.log and exits 0 on SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const { child, url } = await startChild(t, path.join(dir, 'data'), path.join(dir, 'logs'), 'cli');
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const health = await request(`${url}/health`);
  assert.equal(health.statusCode, 200);
  assert.equal(((await health.body.json()) as { status: string }).status, 'ok');
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
  await access(path.join(dir, 'logs', 'ingest.log'));
  await access(path.join(dir, 'data', 'ingest.db'));
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { startIngestProcess } from '../helpers/ingest-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sha256File, sha256Of, tusCreate, tusPatch, tusRequest, visibleUploads } from './ingest-support.js';

function startCli(t: TestContext, dataDir: string, logDir: string): ReturnType<typeof startIngestProcess> {
  return startIngestProcess(t, {
    script: 'src/cli/main.ts',
    args: ['ingest', '--port', '0', '--data-dir', dataDir],
    env: { STREAMAI_LOG_FILE: path.join(logDir, 'streamai.log'), INGEST_API_KEYS: '' },
  });
}

/**
 * A real `streamai ingest` receives every byte but the last, is SIGKILLed, and the last byte
 * lands in its store as a write just before the kill would leave it: every byte stored, the
 * upload never completed. Returns the restarted server and the upload's path.
 */
async function killAfterLastByte(
  t: TestContext,
  data: Buffer,
  metadata: Record<string, string>,
): Promise<{ url: string; uploadPath: string; dataDir: string }> {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const first = await startCli(t, dataDir, path.join(dir, 'logs'));
  const created = await tusCreate(first.url, data.length, { filename: 'talk.mkv', ...metadata });
  assert.equal(created.status, 201);
  const uploadPath = new URL(created.location ?? '').pathname;
  assert.equal((await tusPatch(`${first.url}${uploadPath}`, 0, data.subarray(0, -1))).status, 204);
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  await appendFile(path.join(dataDir, '.tus', path.basename(uploadPath)), data.subarray(-1));

  const second = await startCli(t, dataDir, path.join(dir, 'logs'));
  return { url: second.url, uploadPath, dataDir };
}

test('tus: killed right after the last byte, the restarted server completes the upload and HEAD carries its sha256', async (t) => {
  const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
  const digest = sha256Of(data);
  const { url, uploadPath, dataDir } = await killAfterLastByte(t, data, {
    task_id: 'full-1',
    sha256: digest,
  });

  const head = await tusRequest(`${url}${uploadPath}`, 'HEAD', {});
  assert.equal(head.status, 200);
  assert.equal(head.headers['upload-offset'], String(data.length));
  assert.equal(head.headers['upload-sha256'], digest);
  const status = await request(`${url}/status/full-1`);
  const body = (await status.body.json()) as { state: string; upload: { sha256: string } };
  assert.equal(body.state, 'received');
  assert.equal(body.upload.sha256, digest);
  assert.deepEqual(await visibleUploads(dataDir), ['full-1/talk.mkv']);
  assert.equal(await sha256File(path.join(dataDir, 'full-1', 'talk.mkv')), digest);
});

test('tus: killed right after the last byte of an upload whose bytes differ from its declared sha256, it is discarded at start-up', async (t) => {
  const data = Buffer.alloc(1024 * 1024, 3);
  const wrong = sha256Of(Buffer.from('something else'));
  const { url, uploadPath, dataDir } = await killAfterLastByte(t, data, { task_id: 'full-2', sha256: wrong });

  const head = await tusRequest(`${url}${uploadPath}`, 'HEAD', {});
  assert.equal(head.status, 404);
  const status = await request(`${url}/status/full-2`);
  assert.equal(status.statusCode, 404);
  await status.body.dump();
  assert.deepEqual(await visibleUploads(dataDir), []);
  assert.deepEqual(
    await readFile(path.join(dataDir, '.tus', path.basename(uploadPath))).catch(() => 'gone'),
    'gone',
  );
});

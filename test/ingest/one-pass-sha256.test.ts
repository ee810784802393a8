import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sha256File, sha256Of, tusCreate, tusPatch, tusRequest, visibleUploads } from './ingest-support.js';

function codeOf(text: string): string | undefined {
  return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
}

test('tus one-pass: Upload-Sha256 on the last PATCH is compared at completion; the answer and HEAD carry the digest', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = randomBytes(2 * 1024 * 1024 + 3);
  const digest = sha256Of(data);
  const created = await tusCreate(url, data.length, { filename: 'one.mkv', task_id: 'one-pass-1' });
  const upload = created.location ?? '';
  const half = 1024 * 1024;
  assert.equal((await tusPatch(upload, 0, data.subarray(0, half))).status, 204);
  const done = await tusPatch(upload, half, data.subarray(half), { 'upload-sha256': digest });
  assert.equal(done.status, 204);
  assert.equal(done.headers['upload-sha256'], digest);
  assert.equal((await tusRequest(upload, 'HEAD', {})).headers['upload-sha256'], digest);
  assert.equal(await sha256File(path.join(dataDir, 'one-pass-1', 'one.mkv')), digest);
});

test('tus one-pass: a wrong Upload-Sha256 answers 422 and nothing is kept as complete', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = randomBytes(300 * 1024);
  const created = await tusCreate(url, data.length, { filename: 'bad.mkv', task_id: 'one-pass-2' });
  const upload = created.location ?? '';
  const wrong = await tusPatch(upload, 0, data, { 'upload-sha256': sha256Of(Buffer.from('other')) });
  assert.equal(wrong.status, 422);
  assert.equal(codeOf(wrong.text), 'CHECKSUM_MISMATCH');
  assert.equal((await tusRequest(upload, 'HEAD', {})).status, 404);
  const status = await request(`${url}/status/one-pass-2`);
  assert.equal(status.statusCode, 404);
  await status.body.dump();
  assert.deepEqual(await visibleUploads(dataDir), []);
});

test('tus one-pass: the declared digest is stored before the bytes, so it still counts after a restart', async (t) => {
  const dataDir = path.join(await tempDir(t), 'data');
  const first = await startIngestServer(t, { dataDir });
  const data = randomBytes(500 * 1024);
  const created = await tusCreate(first.url, data.length, { filename: 'later.mkv', task_id: 'one-pass-3' });
  const uploadPath = new URL(created.location ?? '').pathname;
  const wrong = sha256Of(Buffer.from('not these bytes'));
  const head = await tusPatch(`${first.url}${uploadPath}`, 0, data.subarray(0, -1), {
    'upload-sha256': wrong,
  });
  assert.equal(head.status, 204);
  await first.server.close();

  const second = await startIngestServer(t, { dataDir });
  const last = await tusPatch(`${second.url}${uploadPath}`, data.length - 1, data.subarray(-1));
  assert.equal(last.status, 422);
  assert.deepEqual(await visibleUploads(dataDir), []);
});

/** A form with the file part first and the `sha256` field after it, as a one-pass client sends it. */
function fileThenDigest(data: Buffer, digest: string): { contentType: string; body: Buffer } {
  const b = 'onepassboundary';
  const body = Buffer.concat([
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="task_id"\r\n\r\nmp-${digest.slice(0, 8)}\r\n`,
    ),
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="file"; filename="form.mkv"\r\nContent-Type: video/mp4\r\n\r\n`,
    ),
    data,
    Buffer.from(
      `\r\n--${b}\r\nContent-Disposition: form-data; name="sha256"\r\n\r\n${digest}\r\n--${b}--\r\n`,
    ),
  ]);
  return { contentType: `multipart/form-data; boundary=${b}`, body };
}

test('multipart one-pass: a sha256 field after the file part is compared at the end (200 with it, 422 and no temp file without)', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = randomBytes(700 * 1024);
  const digest = sha256Of(data);
  const good = fileThenDigest(data, digest);
  const ok = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': good.contentType },
    body: good.body,
  });
  assert.equal(ok.statusCode, 200);
  assert.equal(((await ok.body.json()) as { sha256: string }).sha256, digest);

  const bad = fileThenDigest(randomBytes(1000), sha256Of(Buffer.from('x')));
  const refused = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': bad.contentType },
    body: bad.body,
  });
  assert.equal(refused.statusCode, 422);
  assert.equal(codeOf(await refused.body.text()), 'CHECKSUM_MISMATCH');
  assert.deepEqual(await readdir(path.join(dataDir, '.incoming')), []);
  assert.deepEqual(await visibleUploads(dataDir), [path.join(`mp-${digest.slice(0, 8)}`, 'form.mkv')]);
});

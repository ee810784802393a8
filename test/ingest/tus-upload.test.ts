import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import * as tus from 'tus-js-client';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import {
  openTusPatch,
  sha256File,
  sha256Of,
  tusCreate,
  tusOffset,
  tusPatch,
  tusRequest,
  visibleUploads,
  writeRandomFile,
} from './ingest-support.js';

/** Uploads a file with tus-js-client; resolves with the upload URL. */
function tusUpload(
  endpoint: string,
  file: string,
  size: number,
  metadata: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(createReadStream(file), {
      endpoint,
      uploadSize: size,
      metadata,
      headers,
      chunkSize: 4 * 1024 * 1024,
      retryDelays: [],
      onError: reject,
      onSuccess: () => resolve(upload.url ?? ''),
    });
    upload.start();
  });
}

test('tus: a file uploaded with tus-js-client in chunks arrives byte-identical, with its sha256 to check', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'Réunion équipe.mkv');
  const size = 10 * 1024 * 1024 + 123;
  const digest = await writeRandomFile(file, size);
  const { url, dataDir } = await startIngestServer(t, { apiKeys: ['k1', 'k2'] });

  const uploadUrl = await tusUpload(
    `${url}/files/`,
    file,
    size,
    {
      filename: 'Réunion équipe.mkv',
      task_id: 'tus-basic',
      session_name: 'Réunion',
      auto_process: 'false',
      sha256: digest,
    },
    { authorization: 'Bearer k2' },
  );
  assert.match(uploadUrl, /\/files\/[0-9a-f]+$/);
  assert.equal(await sha256File(path.join(dataDir, 'tus-basic', 'Réunion équipe.mkv')), digest);

  // The completed upload still answers HEAD, with the digest the client can compare.
  const head = await tusRequest(uploadUrl, 'HEAD', { authorization: 'Bearer k2' });
  assert.equal(head.status, 200);
  assert.equal(head.headers['upload-offset'], String(size));
  assert.equal(head.headers['upload-sha256'], digest);

  // The same key in its other form (a task's status is for the key that uploaded it).
  const status = await request(`${url}/status/tus-basic`, { headers: { 'x-api-key': 'k2' } });
  const view = (await status.body.json()) as {
    state: string;
    upload: { sha256: string; protocol: string; file_size: number };
  };
  assert.equal(view.state, 'received');
  assert.equal(view.upload.sha256, digest);
  assert.equal(view.upload.protocol, 'tus');
  assert.equal(view.upload.file_size, size);
  assert.deepEqual(await visibleUploads(dataDir), [path.join('tus-basic', 'Réunion équipe.mkv')]);
});

test('tus: the final PATCH answers with Upload-Sha256; creation-with-upload works in one request', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('one-shot video bytes');
  const res = await tusRequest(
    `${url}/files/`,
    'POST',
    {
      'upload-length': String(data.length),
      'upload-metadata': `filename ${Buffer.from('one.mp4').toString('base64')},task_id ${Buffer.from('tus-one').toString('base64')}`,
      'content-type': 'application/offset+octet-stream',
    },
    data,
  );
  assert.equal(res.status, 201);
  assert.equal(res.headers['upload-offset'], String(data.length));
  assert.equal(res.headers['upload-sha256'], sha256Of(data));
  assert.deepEqual(await readFile(path.join(dataDir, 'tus-one', 'one.mp4')), data);
});

test('tus: a connection cut mid-body keeps the received prefix; HEAD gives the offset and the rest completes', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'cut.mp4');
  const size = 8 * 1024 * 1024;
  const digest = await writeRandomFile(file, size);
  const data = await readFile(file);
  const { url, dataDir } = await startIngestServer(t);
  const created = await tusCreate(url, size, { filename: 'cut.mp4', task_id: 'tus-cut', sha256: digest });
  assert.equal(created.status, 201);
  const uploadUrl = created.location ?? '';

  // Send half the declared body and then drop the connection.
  const sent = 3 * 1024 * 1024 + 17;
  await new Promise<void>((resolve) => {
    const req = openTusPatch(uploadUrl, size);
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      resolve();
    });
    req.write(data.subarray(0, sent), () => setTimeout(() => req.destroy(), 300));
  });

  // The server may still be flushing what it received: poll until the offset settles.
  let offset = -1;
  for (let i = 0; i < 100; i++) {
    offset = await tusOffset(uploadUrl);
    if (offset === sent) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(offset > 0 && offset <= sent, `offset ${offset}`);
  assert.deepEqual(await visibleUploads(dataDir), []);
  const statusRes = await request(`${url}/status/tus-cut`);
  const view = (await statusRes.body.json()) as { state: string; upload: { received_bytes: number } };
  assert.equal(view.state, 'receiving');
  assert.equal(view.upload.received_bytes, offset);

  const rest = await tusPatch(uploadUrl, offset, data.subarray(offset));
  assert.equal(rest.status, 204);
  assert.equal(rest.headers['upload-sha256'], digest);
  assert.equal(await sha256File(path.join(dataDir, 'tus-cut', 'cut.mp4')), digest);
});

test('tus: a declared sha256 that does not match answers 422 and the bytes are discarded', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('tus bytes that do not match');
  const created = await tusCreate(url, data.length, {
    filename: 'x.mp4',
    task_id: 'tus-bad',
    sha256: 'b'.repeat(64),
  });
  const res = await tusPatch(created.location ?? '', 0, data);
  assert.equal(res.status, 422);
  assert.equal((JSON.parse(res.text) as { error: { code: string } }).error.code, 'CHECKSUM_MISMATCH');
  assert.deepEqual(await visibleUploads(dataDir), []);
  assert.deepEqual(await readdirSafe(path.join(dataDir, '.tus')), []);
  const status = await request(`${url}/status/tus-bad`);
  assert.equal(status.statusCode, 404);
  await status.body.dump();
  const head = await tusRequest(created.location ?? '', 'HEAD', {});
  assert.equal(head.status, 404);
});

test('tus: same task and content twice → no second copy; different content → 409 at creation or completion', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('tus idempotent bytes');
  const first = await tusCreate(url, data.length, { filename: 'i.mp4', task_id: 'tus-idem' });
  assert.equal((await tusPatch(first.location ?? '', 0, data)).status, 204);

  // Same bytes again (no sha256 declared, so the server learns it at the end): accepted, one copy.
  const second = await tusCreate(url, data.length, { filename: 'i.mp4', task_id: 'tus-idem' });
  assert.equal(second.status, 201);
  const done = await tusPatch(second.location ?? '', 0, data);
  assert.equal(done.status, 204);
  assert.equal(done.headers['upload-sha256'], sha256Of(data));
  assert.deepEqual(await visibleUploads(dataDir), [path.join('tus-idem', 'i.mp4')]);

  // Different length or declared sha256: refused before any byte is sent.
  const longer = await tusCreate(url, data.length + 1, { filename: 'i.mp4', task_id: 'tus-idem' });
  assert.equal(longer.status, 409);
  assert.equal((JSON.parse(longer.text) as { error: { code: string } }).error.code, 'TASK_CONFLICT');
  const otherSum = await tusCreate(url, data.length, {
    filename: 'i.mp4',
    task_id: 'tus-idem',
    sha256: 'c'.repeat(64),
  });
  assert.equal(otherSum.status, 409);

  // Same length, different bytes, no sha256: found out at completion.
  const sneaky = await tusCreate(url, data.length, { filename: 'i.mp4', task_id: 'tus-idem' });
  const res = await tusPatch(sneaky.location ?? '', 0, Buffer.alloc(data.length, 7));
  assert.equal(res.status, 409);
  assert.deepEqual(await visibleUploads(dataDir), [path.join('tus-idem', 'i.mp4')]);
  assert.deepEqual(await readFile(path.join(dataDir, 'tus-idem', 'i.mp4')), data);
});

test('tus: termination removes an unfinished upload; a finished one cannot be terminated', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const created = await tusCreate(url, 100, { filename: 't.mp4', task_id: 'tus-term' });
  assert.equal((await tusPatch(created.location ?? '', 0, Buffer.alloc(40, 1))).status, 204);
  const del = await tusRequest(created.location ?? '', 'DELETE', {});
  assert.equal(del.status, 204);
  assert.equal((await tusRequest(created.location ?? '', 'HEAD', {})).status, 404);
  const status = await request(`${url}/status/tus-term`);
  assert.equal(status.statusCode, 404);
  await status.body.dump();

  const data = Buffer.from('complete');
  const done = await tusCreate(url, data.length, { filename: 'd.mp4', task_id: 'tus-done' });
  await tusPatch(done.location ?? '', 0, data);
  const refuse = await tusRequest(done.location ?? '', 'DELETE', {});
  assert.equal(refuse.status, 400);
  assert.deepEqual(await visibleUploads(dataDir), [path.join('tus-done', 'd.mp4')]);
});

test('tus: bad requests answer JSON errors (400, 404, 412, 415) and the server keeps serving', async (t) => {
  const { url } = await startIngestServer(t);
  const noVersion = await request(`${url}/files/`, { method: 'POST', headers: { 'upload-length': '10' } });
  assert.equal(noVersion.statusCode, 412);
  await noVersion.body.dump();
  const noName = await tusCreate(url, 10, { task_id: 'tus-x' });
  assert.equal(noName.status, 400);
  assert.equal((JSON.parse(noName.text) as { error: { code: string } }).error.code, 'INVALID_NAME');
  const badTask = await tusCreate(url, 10, { filename: 'a.mp4', task_id: '../../x' });
  assert.equal(badTask.status, 400);
  const notVideo = await tusCreate(url, 10, {
    filename: 'a.exe',
    filetype: 'application/x-msdownload',
    task_id: 'tus-x',
  });
  assert.equal(notVideo.status, 415);
  const badMeta = await tusRequest(`${url}/files/`, 'POST', {
    'upload-length': '10',
    'upload-metadata': 'filename !!!',
  });
  assert.equal(badMeta.status, 400);
  assert.equal((JSON.parse(badMeta.text) as { success: boolean }).success, false);
  const unknown = await tusRequest(`${url}/files/0123456789abcdef`, 'HEAD', {});
  assert.equal(unknown.status, 404);
  const ok = await tusCreate(url, 10, { filename: 'a.mp4', task_id: 'tus-x' });
  assert.equal(ok.status, 201);
});

async function readdirSafe(dir: string): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  return readdir(dir).catch(() => []);
}

test('tus checksum extension: a PATCH whose Upload-Checksum does not match answers 460 and keeps nothing of it', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const options = await tusRequest(`${url}/files/`, 'OPTIONS', {});
  assert.equal(options.status, 204);
  assert.match(String(options.headers['tus-extension']), /(^|,)checksum(,|$)/);
  assert.match(String(options.headers['tus-checksum-algorithm']), /sha256/);

  const data = Buffer.from('0123456789'.repeat(100));
  const digestOf = (algorithm: string, bytes: Buffer): string =>
    `${algorithm} ${createHash(algorithm).update(bytes).digest('base64')}`;
  const created = await tusCreate(url, data.length, { filename: 'c.mp4', task_id: 'tus-checksum' });
  const uploadUrl = created.location ?? '';
  const first = data.subarray(0, 400);
  const ok = await tusPatch(uploadUrl, 0, first, { 'upload-checksum': digestOf('sha1', first) });
  assert.equal(ok.status, 204);
  assert.equal(ok.headers['upload-offset'], '400');

  const rest = data.subarray(400);
  const corrupted = Buffer.from(rest);
  corrupted[10] = 0;
  const bad = await tusPatch(uploadUrl, 400, corrupted, { 'upload-checksum': digestOf('sha256', rest) });
  assert.equal(bad.status, 460);
  assert.equal((JSON.parse(bad.text) as { error: { code: string } }).error.code, 'CHUNK_CHECKSUM_MISMATCH');
  assert.equal(await tusOffset(uploadUrl), 400);

  const unknownAlgorithm = await tusPatch(uploadUrl, 400, rest, { 'upload-checksum': 'crc99 AAAA' });
  assert.equal(unknownAlgorithm.status, 400);
  assert.equal(await tusOffset(uploadUrl), 400);

  const good = await tusPatch(uploadUrl, 400, rest, { 'upload-checksum': digestOf('sha256', rest) });
  assert.equal(good.status, 204);
  assert.equal(good.headers['upload-sha256'], sha256Of(data));
  assert.deepEqual(await readFile(path.join(dataDir, 'tus-checksum', 'c.mp4')), data);
});

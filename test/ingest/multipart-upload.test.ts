import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { multipartBody, postUpload, sha256File, sha256Of, visibleUploads } from './ingest-support.js';

test("the original client's multipart request is stored byte-identical and shows in /status and /uploads", async (t) => {
  const dir = await tempDir(t);
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska', seconds: 1 });
  const digest = await sha256File(clip);
  const { url, dataDir } = await startIngestServer(t, { apiKeys: ['secret-key'] });

  // Exactly what the original Python client sends: requests' layout, fields before the file,
  // video/mp4 even for .mkv, a bearer key.
  const form = await multipartBody(
    {
      task_id: 'upload_20240105_143000_abc123',
      session_name: 'Réunion équipe',
      auto_process: 'true',
      upload_time: '2024-01-05 14:30:00',
    },
    { name: 'Réunion équipe.mkv', contentType: 'video/mp4', path: clip },
  );
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: {
      'user-agent': 'python-requests/2.31.0',
      accept: '*/*',
      authorization: 'Bearer secret-key',
      'content-type': form.contentType,
      'content-length': String(form.length),
    },
    body: form.body(),
  });
  assert.equal(res.statusCode, 200);
  const json = (await res.body.json()) as Record<string, unknown>;
  assert.equal(json.success, true);
  assert.equal(json.task_id, 'upload_20240105_143000_abc123');
  assert.equal(json.file_name, 'Réunion équipe.mkv');
  assert.equal(json.sha256, digest);
  assert.equal(typeof json.message, 'string');

  const stored = path.join(dataDir, 'upload_20240105_143000_abc123', 'Réunion équipe.mkv');
  assert.equal(await sha256File(stored), digest);
  assert.equal(json.file_size, (await readFile(stored)).length);

  const auth = { authorization: 'Bearer secret-key' };
  const status = await request(`${url}/status/upload_20240105_143000_abc123`, { headers: auth });
  assert.equal(status.statusCode, 200);
  const view = (await status.body.json()) as {
    task_id: string;
    state: string;
    upload: {
      sha256: string;
      file_name: string;
      session_name: string;
      auto_process: boolean;
      upload_time: string;
    };
    processing: { steps: unknown[]; progress: number; report: unknown };
  };
  assert.equal(view.state, 'received');
  assert.equal(view.upload.sha256, digest);
  assert.equal(view.upload.session_name, 'Réunion équipe');
  assert.equal(view.upload.auto_process, true);
  assert.equal(view.upload.upload_time, '2024-01-05 14:30:00');
  assert.deepEqual(view.processing, { steps: [], progress: 0, report: null });

  const list = await request(`${url}/uploads?limit=1`, { headers: { 'x-api-key': 'secret-key' } });
  assert.equal(list.statusCode, 200);
  // A JSON array, as the original's integration script expects (len, slicing, filename, status).
  const uploads = (await list.body.json()) as Array<{
    task_id: string;
    filename: string;
    status: string;
    size: number;
    upload_time: string;
    upload: { sha256: string; file_size: number };
  }>;
  assert.ok(Array.isArray(uploads));
  assert.equal(uploads.length, 1);
  const [item] = uploads;
  assert.equal(item?.task_id, 'upload_20240105_143000_abc123');
  assert.equal(item?.filename, view.upload.file_name);
  assert.equal(item?.status, 'uploaded');
  assert.equal(item?.size, item?.upload.file_size);
  assert.equal(item?.upload_time, '2024-01-05 14:30:00');
  assert.equal(item?.upload.sha256, digest);
});

test('the same task_id again: same bytes answer 200 with the record and no second copy; other bytes answer 409', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('first recording bytes '.repeat(1000));
  const fields = {
    task_id: 'task-idem',
    session_name: 's',
    auto_process: 'false',
    upload_time: '2024-01-05 14:30:00',
  };
  const first = await postUpload(url, fields, { name: 'a.mp4', data });
  assert.equal(first.status, 200);
  const again = await postUpload(url, fields, { name: 'a.mp4', data });
  assert.equal(again.status, 200);
  assert.equal(again.json.sha256, sha256Of(data));
  assert.deepEqual(await visibleUploads(dataDir), [path.join('task-idem', 'a.mp4')]);

  const other = await postUpload(url, fields, { name: 'b.mp4', data: Buffer.from('different bytes') });
  assert.equal(other.status, 409);
  assert.deepEqual(other.json, {
    success: false,
    error: { code: 'TASK_CONFLICT', message: (other.json.error as { message: string }).message },
  });
  assert.deepEqual(await visibleUploads(dataDir), [path.join('task-idem', 'a.mp4')]);
  assert.equal(await sha256File(path.join(dataDir, 'task-idem', 'a.mp4')), sha256Of(data));
});

test('a declared sha256 that does not match answers 422 and keeps nothing; a matching one is accepted', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('some video bytes');
  const bad = await postUpload(url, { task_id: 'task-sum', sha256: 'a'.repeat(64) }, { name: 'v.mp4', data });
  assert.equal(bad.status, 422);
  assert.equal((bad.json.error as { code: string }).code, 'CHECKSUM_MISMATCH');
  assert.deepEqual(await visibleUploads(dataDir), []);
  const missing = await request(`${url}/status/task-sum`);
  assert.equal(missing.statusCode, 404);
  await missing.body.dump();

  const good = await postUpload(
    url,
    { task_id: 'task-sum', sha256: sha256Of(data).toUpperCase() },
    { name: 'v.mp4', data },
  );
  assert.equal(good.status, 200);
  assert.equal(good.json.sha256, sha256Of(data));
});

test('names never choose a path: traversal is cut to the last segment, bad task ids are refused', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('bytes');
  const sneaky = await postUpload(
    url,
    { task_id: 'task-names' },
    { name: '../../etc/pass\u0001wd.mp4', data },
  );
  assert.equal(sneaky.status, 200);
  assert.equal(sneaky.json.file_name, 'passwd.mp4');
  assert.deepEqual(await visibleUploads(dataDir), [path.join('task-names', 'passwd.mp4')]);

  const long = `${'é'.repeat(200)}.mkv`;
  const longRes = await postUpload(url, { task_id: 'task-long' }, { name: long, data });
  assert.equal(longRes.status, 200);
  const stored = longRes.json.file_name as string;
  assert.ok(Buffer.byteLength(stored) <= 255);
  assert.ok(stored.endsWith('.mkv'));

  for (const taskId of [
    '../escape',
    '/abs',
    'a/b',
    '.hidden',
    'nul\u0000byte',
    'x'.repeat(129),
    'ingest.db',
  ]) {
    const res = await postUpload(url, { task_id: taskId }, { name: 'v.mp4', data });
    assert.equal(res.status, 400, taskId);
    assert.equal((res.json.error as { code: string }).code, 'INVALID_TASK_ID');
  }
  const dots = await postUpload(url, { task_id: 'task-dots' }, { name: '..', data });
  assert.equal(dots.status, 400);
  assert.equal((dots.json.error as { code: string }).code, 'INVALID_NAME');
  assert.deepEqual((await visibleUploads(dataDir)).length, 2);
  const health = await request(`${url}/health`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
});

test('malformed forms answer 400 or 415 with JSON errors, and the server keeps serving', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('bytes');
  const noFile = await postUpload(url, { task_id: 'task-x' }, undefined);
  assert.equal(noFile.status, 400);
  assert.equal((noFile.json.error as { code: string }).code, 'BAD_REQUEST');

  const noTask = await postUpload(url, {}, { name: 'v.mp4', data });
  assert.equal(noTask.status, 400);
  assert.equal((noTask.json.error as { code: string }).code, 'INVALID_TASK_ID');

  const notVideo = await postUpload(
    url,
    { task_id: 'task-x' },
    { name: 'notes.txt', contentType: 'text/plain', data },
  );
  assert.equal(notVideo.status, 415);
  assert.equal((notVideo.json.error as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');

  const badAuto = await postUpload(
    url,
    { task_id: 'task-x', auto_process: 'maybe' },
    { name: 'v.mp4', data },
  );
  assert.equal(badAuto.status, 400);

  const json = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"task_id":"x"}',
  });
  assert.equal(json.statusCode, 415);
  const body = (await json.body.json()) as { success: boolean; error: { code: string } };
  assert.equal(body.success, false);
  assert.equal(body.error.code, 'UNSUPPORTED_MEDIA_TYPE');

  const empty = await postUpload(url, { task_id: 'task-empty' }, { name: 'v.mp4', data: Buffer.alloc(0) });
  assert.equal(empty.status, 400);
  assert.equal((empty.json.error as { code: string }).code, 'EMPTY_FILE');

  assert.deepEqual(await visibleUploads(dataDir), []);
  const ok = await postUpload(url, { task_id: 'task-after' }, { name: 'v.mp4', data });
  assert.equal(ok.status, 200);
});

test('a multipart upload cut off mid-file leaves nothing visible and no task; a retry succeeds', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.alloc(6 * 1024 * 1024, 3);
  const form = await multipartBody({ task_id: 'cut-multipart' }, { name: 'cut.mp4', data });
  const whole = await new Promise<Buffer>((resolve) => {
    const chunks: Buffer[] = [];
    form
      .body()
      .on('data', (c: Buffer) => chunks.push(c))
      .on('end', () => resolve(Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve) => {
    const req = http.request(`${url}/upload`, {
      method: 'POST',
      headers: { 'content-type': form.contentType, 'content-length': String(form.length) },
    });
    req.on('error', () => resolve());
    req.on('response', (res) => {
      res.resume();
      resolve();
    });
    req.write(whole.subarray(0, 2 * 1024 * 1024), () => setTimeout(() => req.destroy(), 200));
  });
  // The server notices the cut, removes its temporary file and forgets the task.
  let status = 0;
  for (let i = 0; i < 50 && status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 50));
    const res = await request(`${url}/status/cut-multipart`);
    status = res.statusCode;
    await res.body.dump();
  }
  assert.equal(status, 404);
  assert.deepEqual(await visibleUploads(dataDir), []);
  assert.deepEqual(await readdir(path.join(dataDir, '.incoming')), []);

  const retry = await postUpload(url, { task_id: 'cut-multipart' }, { name: 'cut.mp4', data });
  assert.equal(retry.status, 200);
  assert.equal(retry.json.sha256, sha256Of(data));
});

test('fields after the file part are read too (other clients order the form differently)', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('file first, fields last');
  const boundary = 'b0undary';
  const body = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="late.mp4"\r\n` +
        'Content-Type: video/mp4\r\n\r\n',
    ),
    data,
    Buffer.from(
      `\r\n--${boundary}\r\nContent-Disposition: form-data; name="task_id"\r\n\r\nfields-last\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="sha256"\r\n\r\n${sha256Of(data)}\r\n--${boundary}--\r\n`,
    ),
  ]);
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  });
  assert.equal(res.statusCode, 200);
  assert.equal(((await res.body.json()) as { task_id: string }).task_id, 'fields-last');
  assert.deepEqual(await readFile(path.join(dataDir, 'fields-last', 'late.mp4')), data);
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { multipartBody, sha256File, tusMetadata, visibleUploads, writeRandomFile } from './ingest-support.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

test('a 200 MiB upload arrives byte-identical through POST /upload and through tus', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'big.mkv');
  const size = 200 * MiB;
  const digest = await writeRandomFile(file, size);
  const { url, dataDir } = await startIngestServer(t);

  const form = await multipartBody(
    {
      task_id: 'big-multipart',
      session_name: 'big',
      auto_process: 'false',
      upload_time: '2024-01-05 14:30:00',
    },
    { name: 'big.mkv', contentType: 'video/mp4', path: file },
  );
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': form.contentType, 'content-length': String(form.length) },
    body: form.body(),
  });
  assert.equal(res.statusCode, 200);
  const json = (await res.body.json()) as { sha256: string; file_size: number };
  assert.equal(json.sha256, digest);
  assert.equal(json.file_size, size);
  assert.equal(await sha256File(path.join(dataDir, 'big-multipart', 'big.mkv')), digest);

  // tus in 64 MiB PATCHes, each streamed from the file.
  const created = await request(`${url}/files/`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': String(size),
      'upload-metadata': tusMetadata({ filename: 'big.mkv', task_id: 'big-tus', sha256: digest }),
    },
  });
  assert.equal(created.statusCode, 201);
  await created.body.dump();
  const uploadUrl = new URL(String(created.headers.location), url).toString();
  let offset = 0;
  let last: Record<string, string | string[] | undefined> = {};
  while (offset < size) {
    const end = Math.min(size, offset + 64 * MiB);
    const patch = await request(uploadUrl, {
      method: 'PATCH',
      headers: {
        'tus-resumable': '1.0.0',
        'upload-offset': String(offset),
        'content-type': 'application/offset+octet-stream',
        'content-length': String(end - offset),
      },
      body: createReadStream(file, { start: offset, end: end - 1, highWaterMark: MiB }),
    });
    assert.equal(patch.statusCode, 204);
    await patch.body.dump();
    offset = Number(patch.headers['upload-offset']);
    last = patch.headers;
  }
  assert.equal(last['upload-sha256'], digest);
  assert.equal(await sha256File(path.join(dataDir, 'big-tus', 'big.mkv')), digest);
  assert.deepEqual(await visibleUploads(dataDir), [
    path.join('big-multipart', 'big.mkv'),
    path.join('big-tus', 'big.mkv'),
  ]);
});

test('with INGEST_TLS_CERT/KEY the server speaks HTTPS and takes uploads over it', async (t) => {
  const dir = await tempDir(t);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  const { url, dataDir } = await startIngestServer(t, { tlsCertPath: cert, tlsKeyPath: key });
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const dispatcher = new Agent({ connect: { ca: await readFile(cert) } });
  t.after(() => dispatcher.close());

  const health = await request(`${url}/health`, { dispatcher });
  assert.equal(health.statusCode, 200);
  await health.body.dump();

  const file = path.join(dir, 'secure.mp4');
  const digest = await writeRandomFile(file, 3 * MiB);
  const form = await multipartBody({ task_id: 'tls-multipart' }, { name: 'secure.mp4', path: file });
  const res = await request(`${url}/upload`, {
    method: 'POST',
    dispatcher,
    headers: { 'content-type': form.contentType, 'content-length': String(form.length) },
    body: form.body(),
  });
  assert.equal(res.statusCode, 200);
  assert.equal(((await res.body.json()) as { sha256: string }).sha256, digest);

  const created = await request(`${url}/files/`, {
    method: 'POST',
    dispatcher,
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': String(3 * MiB),
      'upload-metadata': tusMetadata({ filename: 'secure.mp4', task_id: 'tls-tus' }),
      'content-type': 'application/offset+octet-stream',
    },
    body: await readFile(file),
  });
  assert.equal(created.statusCode, 201);
  assert.equal(created.headers['upload-sha256'], digest);
  await created.body.dump();
  assert.equal(await sha256File(path.join(dataDir, 'tls-tus', 'secure.mp4')), digest);

  // Plain HTTP to the HTTPS port gets nowhere.
  const plain = await request(url.replace('https:', 'http:') + '/health').catch((error: unknown) => error);
  assert.ok(plain instanceof Error || (plain as { statusCode: number }).statusCode >= 400);
});

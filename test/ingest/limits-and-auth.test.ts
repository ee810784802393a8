import assert from 'node:assert/strict';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { test } from 'node:test';
import { request } from 'undici';
import { freeBytes } from '../../src/ingest/disk-space.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import {
  multipartBody,
  postUpload,
  tusCreate,
  tusMetadata,
  tusPatch,
  visibleUploads,
} from './ingest-support.js';

/**
 * Sends only the request head (declaring a large body) plus a few bytes, and returns the
 * status line and body the server answers without waiting for the rest.
 */
function headOnly(url: string, head: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(head));
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /content-length: (\d+)/i.exec(data.slice(0, end));
      if (length && data.length - end - 4 >= Number(length[1])) {
        socket.destroy();
        resolve({ status: Number(data.slice(9, 12)), body: data.slice(end + 4) });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before a full answer: ${data}`)));
  });
}

test('over INGEST_MAX_UPLOAD_BYTES: 413 before the body is read (multipart and tus), nothing kept', async (t) => {
  const { url, dataDir } = await startIngestServer(t, { maxUploadBytes: 4 * 1024 * 1024 });
  const { port } = new URL(url);
  const multipart = await headOnly(
    url,
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=xyz\r\n` +
      `Content-Length: ${10 * 1024 ** 3}\r\n\r\n--xyz\r\n`,
  );
  assert.equal(multipart.status, 413);
  assert.equal((JSON.parse(multipart.body) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');

  const tusRes = await tusCreate(url, 5 * 1024 * 1024, { filename: 'big.mp4', task_id: 'big' });
  assert.equal(tusRes.status, 413);
  assert.equal((JSON.parse(tusRes.text) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');

  // A body that lies about its size (chunked, no length) is cut off at the limit while streaming.
  const form = await multipartBody(
    { task_id: 'liar' },
    { name: 'v.mp4', data: Buffer.alloc(5 * 1024 * 1024, 1) },
  );
  const liar = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': form.contentType },
    body: form.body(),
  }).catch((error: unknown) => error);
  // The server answers 413 as soon as the limit is crossed and closes; the client may see the
  // answer or, if it was still sending, the closed connection.
  if (!(liar instanceof Error)) {
    assert.equal((liar as { statusCode: number }).statusCode, 413);
    await (liar as { body: { dump: () => Promise<void> } }).body.dump();
  }
  assert.deepEqual(await visibleUploads(dataDir), []);

  const ok = await postUpload(url, { task_id: 'small' }, { name: 'v.mp4', data: Buffer.alloc(1024, 1) });
  assert.equal(ok.status, 200);
});

test('disk below the reserve: /health answers 503 and uploads 507 before reading the body', async (t) => {
  const { url, dataDir } = await startIngestServer(t, { diskReserveBytes: Number.MAX_SAFE_INTEGER });
  const health = await request(`${url}/health`);
  assert.equal(health.statusCode, 503);
  const body = (await health.body.json()) as { status: string; disk: { freeBytes: number } };
  assert.notEqual(body.status, 'ok');
  assert.ok(body.disk.freeBytes > 0);

  const upload = await postUpload(url, { task_id: 'full' }, { name: 'v.mp4', data: Buffer.alloc(1024, 1) });
  assert.equal(upload.status, 507);
  assert.equal((upload.json.error as { code: string }).code, 'INSUFFICIENT_STORAGE');
  const tusRes = await tusCreate(url, 1024, { filename: 'v.mp4', task_id: 'full' });
  assert.equal(tusRes.status, 507);
  assert.deepEqual(await visibleUploads(dataDir), []);
});

test('a declared length that would eat into the reserve gets 507 while a small one is accepted', async (t) => {
  // Leave 1 GiB of headroom above the reserve: a 10 GiB declaration cannot fit, 1 KiB can.
  const free = await freeBytes(tmpdir());
  const { url: tightUrl } = await startIngestServer(t, { diskReserveBytes: free - 1024 ** 3 });
  const { port } = new URL(tightUrl);
  const big = await headOnly(
    tightUrl,
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: multipart/form-data; boundary=xyz\r\n` +
      `Content-Length: ${10 * 1024 ** 3}\r\n\r\n--xyz\r\n`,
  );
  assert.equal(big.status, 507);
  const bigTus = await tusCreate(tightUrl, 10 * 1024 ** 3, { filename: 'v.mp4', task_id: 'tight' });
  assert.equal(bigTus.status, 507);
  const small = await postUpload(
    tightUrl,
    { task_id: 'tight' },
    { name: 'v.mp4', data: Buffer.alloc(1024, 1) },
  );
  assert.equal(small.status, 200);
  const health = await request(`${tightUrl}/health`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
});

test('with API keys: every route but /health answers 401 without a valid key; /health reveals no secret or path', async (t) => {
  const { url, dataDir } = await startIngestServer(t, { apiKeys: ['alpha-key', 'beta-key'] });
  const health = await request(`${url}/health`);
  assert.equal(health.statusCode, 200);
  const text = await health.body.text();
  assert.ok(!text.includes('alpha-key') && !text.includes('beta-key'));
  assert.ok(!text.includes(dataDir) && !text.includes('/tmp'));
  const parsed = JSON.parse(text) as {
    capabilities: { tus: boolean; checksum: string[]; maxUploadBytes: number };
  };
  assert.deepEqual(parsed.capabilities, {
    tus: true,
    checksum: ['sha256'],
    maxUploadBytes: 50 * 1024 ** 3,
    recordingParts: true,
  });

  const attempts: Array<[string, Record<string, string>]> = [
    ['none', {}],
    ['wrong bearer', { authorization: 'Bearer alpha-kez' }],
    ['wrong header', { 'x-api-key': 'gamma-key' }],
    ['basic scheme', { authorization: 'Basic alpha-key' }],
  ];
  for (const [label, headers] of attempts) {
    for (const [method, path] of [
      ['GET', '/status/some-task'],
      ['GET', '/uploads'],
      ['POST', '/upload'],
      ['POST', '/files/'],
      ['HEAD', '/files/abc'],
      ['PATCH', '/files/abc'],
      ['DELETE', '/files/abc'],
    ] as const) {
      const res = await request(`${url}${path}`, {
        method,
        headers: { 'tus-resumable': '1.0.0', 'upload-length': '10', ...headers },
      });
      assert.equal(res.statusCode, 401, `${label} ${method} ${path}`);
      if (method !== 'HEAD') {
        const body = (await res.body.json()) as { success: boolean; error: { code: string } };
        assert.deepEqual([body.success, body.error.code], [false, 'UNAUTHORIZED']);
      } else await res.body.dump();
    }
  }
  const withKey = await postUpload(
    url,
    { task_id: 'authed' },
    { name: 'v.mp4', data: Buffer.from('x') },
    { 'x-api-key': 'beta-key' },
  );
  assert.equal(withKey.status, 200);
  const created = await tusCreate(
    url,
    3,
    { filename: 'v.mp4', task_id: 'authed-tus' },
    { authorization: 'Bearer alpha-key' },
  );
  assert.equal(created.status, 201);
  const patched = await tusPatch(created.location ?? '', 0, Buffer.from('abc'), {
    authorization: 'Bearer alpha-key',
  });
  assert.equal(patched.status, 204);
  const anon = await tusRequest401(url);
  assert.equal(anon, 401);
});

async function tusRequest401(url: string): Promise<number> {
  const res = await request(`${url}/files/`, {
    method: 'POST',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-length': '3',
      'upload-metadata': tusMetadata({ filename: 'v.mp4' }),
    },
  });
  await res.body.dump();
  return res.statusCode;
}

test('errors never carry a stack trace and the server keeps serving after each', async (t) => {
  const { url } = await startIngestServer(t);
  const bad = [
    await request(`${url}/status/..%2F..%2Fetc`),
    await request(`${url}/status/unknown-task`),
    await request(`${url}/uploads?limit=0`),
    await request(`${url}/uploads?limit=abc`),
    await request(`${url}/nothing-here`),
  ];
  const statuses: number[] = [];
  for (const res of bad) {
    statuses.push(res.statusCode);
    const text = await res.body.text();
    assert.ok(!/\bat .+:\d+:\d+/.test(text), text);
    assert.equal((JSON.parse(text) as { success: boolean }).success, false);
  }
  assert.deepEqual(statuses, [400, 404, 400, 400, 404]);
  const health = await request(`${url}/health`);
  assert.equal(health.statusCode, 200);
  await health.body.dump();
});

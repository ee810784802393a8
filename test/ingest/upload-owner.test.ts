import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import { postUpload, sha256Of, tusCreate, tusPatch, tusRequest } from './ingest-support.js';

const K1 = 'key-one-0123456789abcdef';
const K2 = 'key-two-0123456789abcdef';
const as = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

function codeOf(text: string): string | undefined {
  return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
}

test('with keys k1,k2 an upload created with k1 is refused to k2 (403) and stays whole for k1', async (t) => {
  const { url, dataDir } = await startIngestServer(t, { apiKeys: [K1, K2] });
  const data = Buffer.alloc(256 * 1024, 5);
  const created = await tusCreate(url, data.length, { filename: 'mine.mkv', task_id: 'owned-1' }, as(K1));
  assert.equal(created.status, 201);
  const upload = created.location ?? '';
  assert.equal((await tusPatch(upload, 0, data.subarray(0, 1000), as(K1))).status, 204);

  const head = await tusRequest(upload, 'HEAD', as(K2));
  assert.equal(head.status, 403);
  const patch = await tusPatch(upload, 1000, data.subarray(1000), as(K2));
  assert.equal(patch.status, 403);
  assert.equal(codeOf(patch.text), 'FORBIDDEN');
  const del = await tusRequest(upload, 'DELETE', as(K2));
  assert.equal(del.status, 403);
  const status = await request(`${url}/status/owned-1`, { headers: as(K2) });
  assert.equal(status.statusCode, 403);
  await status.body.dump();
  // Another key cannot take the task id over either, by tus or by multipart.
  const takeover = await tusCreate(url, 10, { filename: 'x.mkv', task_id: 'owned-1' }, as(K2));
  assert.equal(takeover.status, 403);
  const form = await postUpload(
    url,
    { task_id: 'owned-1' },
    { name: 'x.mkv', data: Buffer.from('x') },
    as(K2),
  );
  assert.equal(form.status, 403);
  // k2's own list does not show k1's task.
  const list = await request(`${url}/uploads`, { headers: as(K2) });
  assert.equal(JSON.stringify(await list.body.json()).includes('owned-1'), false);

  assert.equal((await tusRequest(upload, 'HEAD', as(K1))).headers['upload-offset'], '1000');
  const done = await tusPatch(upload, 1000, data.subarray(1000), as(K1));
  assert.equal(done.status, 204);
  assert.equal(done.headers['upload-sha256'], sha256Of(data));
  const mine = await request(`${url}/status/owned-1`, { headers: as(K1) });
  assert.equal(((await mine.body.json()) as { state: string }).state, 'received');
  assert.equal(sha256Of(await readFile(path.join(dataDir, 'owned-1', 'mine.mkv'))), sha256Of(data));
});

test('the key itself is never stored, only its hash', async (t) => {
  const { url, dataDir } = await startIngestServer(t, { apiKeys: [K1] });
  const form = await postUpload(
    url,
    { task_id: 'owned-2' },
    { name: 'a.mkv', data: Buffer.from('data') },
    as(K1),
  );
  assert.equal(form.status, 200);
  const db = await readFile(path.join(dataDir, 'ingest.db'));
  const wal = await readFile(path.join(dataDir, 'ingest.db-wal')).catch(() => Buffer.alloc(0));
  assert.equal(Buffer.concat([db, wal]).includes(K1), false);
  assert.ok(Buffer.concat([db, wal]).includes(sha256Of(Buffer.from(K1))));
});

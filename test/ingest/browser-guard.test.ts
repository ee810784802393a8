import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import { multipartBody, tusMetadata, visibleUploads } from './ingest-support.js';

const EVIL = 'https://evil.example';
const APP = 'https://app.example';

async function send(
  url: string,
  method: 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'DELETE' | 'OPTIONS',
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: unknown }> {
  const res = await request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text.startsWith('{') ? JSON.parse(text) : text,
  };
}

function codeOf(json: unknown): string | undefined {
  return (json as { error?: { code?: string } }).error?.code;
}

test('without INGEST_CORS_ORIGINS no answer carries CORS headers and another site cannot write', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const tusCreate = {
    'tus-resumable': '1.0.0',
    'upload-length': '10',
    'upload-metadata': tusMetadata({ filename: 'a.mkv', task_id: 'evil-1' }),
  };
  const preflight = await send(`${url}/files/`, 'OPTIONS', {
    origin: EVIL,
    'access-control-request-method': 'POST',
    'access-control-request-headers': 'tus-resumable, upload-length',
  });
  assert.equal(preflight.status, 403);
  assert.equal(preflight.headers['access-control-allow-origin'], undefined);

  const created = await send(`${url}/files/`, 'POST', { ...tusCreate, origin: EVIL });
  assert.equal(created.status, 403);
  assert.equal(codeOf(created.json), 'CROSS_SITE_REQUEST');
  assert.equal(created.headers['access-control-allow-origin'], undefined);

  // A multipart form needs no preflight: it must be refused by the server itself.
  const form = await multipartBody({ task_id: 'evil-2' }, { name: 'a.mkv', data: Buffer.from('data') });
  const posted = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': form.contentType, origin: EVIL, 'sec-fetch-site': 'cross-site' },
    body: form.body(),
  });
  assert.equal(posted.statusCode, 403);
  await posted.body.dump();

  // The same-machine client (no Origin) still works, and tus discovery answers without CORS.
  const mine = await send(`${url}/files/`, 'POST', tusCreate);
  assert.equal(mine.status, 201);
  assert.equal(mine.headers['access-control-allow-origin'], undefined);
  assert.equal(mine.headers['access-control-expose-headers'], undefined);
  const options = await send(`${url}/files/`, 'OPTIONS', { 'tus-resumable': '1.0.0' });
  assert.equal(options.headers['access-control-allow-origin'], undefined);
  assert.equal(options.headers['access-control-allow-methods'], undefined);
  assert.ok(options.headers['tus-version']);
  assert.deepEqual(await visibleUploads(dataDir), []);
});

test('INGEST_CORS_ORIGINS lets exactly its origins call the server', async (t) => {
  const { url } = await startIngestServer(t, { corsOrigins: [APP] });
  const preflight = await send(`${url}/files/`, 'OPTIONS', {
    origin: APP,
    'access-control-request-method': 'PATCH',
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers['access-control-allow-origin'], APP);
  assert.match(String(preflight.headers['access-control-allow-methods']), /PATCH/);

  const created = await send(`${url}/files/`, 'POST', {
    origin: APP,
    'sec-fetch-site': 'cross-site',
    'tus-resumable': '1.0.0',
    'upload-length': '10',
    'upload-metadata': tusMetadata({ filename: 'a.mkv' }),
  });
  assert.equal(created.status, 201);
  assert.equal(created.headers['access-control-allow-origin'], APP);
  assert.match(String(created.headers['access-control-expose-headers']), /Location/);
  assert.match(String(created.headers['access-control-expose-headers']), /Upload-Sha256/);

  const other = await send(`${url}/health`, 'GET', { origin: EVIL });
  assert.equal(other.headers['access-control-allow-origin'], undefined);
});

test('bound to loopback it serves only loopback Host names; bound beyond, any', async (t) => {
  const { url } = await startIngestServer(t);
  const port = new URL(url).port;
  const rebinding = await send(`${url}/health`, 'GET', { host: `evil.example:${port}` });
  assert.equal(rebinding.status, 403);
  assert.equal(codeOf(rebinding.json), 'FORBIDDEN');
  for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
    assert.equal((await send(`${url}/health`, 'GET', { host })).status, 200, host);
  }

  const wide = await startIngestServer(t, { host: '0.0.0.0' });
  const widePort = new URL(wide.url).port;
  const named = await send(`http://127.0.0.1:${widePort}/health`, 'GET', {
    host: `ingest.example:${widePort}`,
  });
  assert.equal(named.status, 200);
});

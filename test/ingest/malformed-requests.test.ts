import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { request } from 'undici';
import { isAppError } from '../../src/errors/index.js';
import { IngestServer } from '../../src/ingest/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tusCreate, tusRequest, visibleUploads } from './ingest-support.js';

function errorOf(text: string): { code?: string; message?: string } {
  const body = JSON.parse(text) as { success?: boolean; error?: { code?: string; message?: string } };
  assert.equal(body.success, false);
  return body.error ?? {};
}

async function postRaw(
  url: string,
  contentType: string,
  body: string,
): Promise<{ status: number; text: string }> {
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

test('malformed multipart bodies answer 400 BAD_REQUEST, never 500, and leave nothing behind', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const cases: Array<[string, string, string]> = [
    [
      'no boundary',
      'multipart/form-data',
      '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
    ],
    ['garbage', 'multipart/form-data; boundary=abc', 'this is not a multipart body at all'],
    [
      'truncated',
      'multipart/form-data; boundary=abc',
      '--abc\r\nContent-Disposition: form-data; name="task_id"\r\n\r\nt-1\r\n--abc\r\n' +
        'Content-Disposition: form-data; name="file"; filename="a.mkv"\r\nContent-Type: video/mp4\r\n\r\nsome bytes',
    ],
  ];
  for (const [what, contentType, body] of cases) {
    const answer = await postRaw(url, contentType, body);
    assert.equal(answer.status, 400, `${what}: ${answer.text}`);
    assert.equal(errorOf(answer.text).code, 'BAD_REQUEST', what);
  }
  assert.deepEqual(await visibleUploads(dataDir), []);
  assert.equal((await request(`${url}/health`)).statusCode, 200);
});

test('tus: a PATCH with the wrong Content-Type answers 415, and tus header errors are JSON in our shape', async (t) => {
  const { url } = await startIngestServer(t);
  const created = await tusCreate(url, 10, { filename: 'a.mkv' });
  const upload = created.location ?? '';
  const wrongType = await tusRequest(
    upload,
    'PATCH',
    { 'upload-offset': '0', 'content-type': 'application/json' },
    Buffer.from('0123456789'),
  );
  assert.equal(wrongType.status, 415);
  assert.equal(errorOf(wrongType.text).code, 'UNSUPPORTED_MEDIA_TYPE');

  const badOffset = await tusRequest(
    upload,
    'PATCH',
    { 'upload-offset': 'abc', 'content-type': 'application/offset+octet-stream' },
    Buffer.from('0123456789'),
  );
  assert.equal(badOffset.status, 400);
  assert.equal(errorOf(badOffset.text).code, 'BAD_REQUEST');

  const badLength = await tusRequest(`${url}/files/`, 'POST', {
    'upload-length': '-5',
    'upload-metadata': `filename ${Buffer.from('a.mkv').toString('base64')}`,
  });
  assert.equal(badLength.status, 400);
  assert.equal(errorOf(badLength.text).code, 'BAD_REQUEST');

  const noLength = await tusRequest(`${url}/files/`, 'POST', {
    'upload-metadata': `filename ${Buffer.from('a.mkv').toString('base64')}`,
  });
  assert.equal(noLength.status, 400);
  assert.equal(typeof errorOf(noLength.text).message, 'string');
});

test('a failed listen answers CONFIG_INVALID and logs no stray tus expiry sweep failure', async (t) => {
  const first = await startIngestServer(t);
  const port = Number(new URL(first.url).port);
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  const dataDir = await tempDir(t);
  const second = new IngestServer({
    host: '127.0.0.1',
    port,
    dataDir,
    apiKeys: [],
    maxUploadBytes: 1024 ** 3,
    diskReserveBytes: 0,
    tusExpirationMs: 3600_000,
    logger,
  });
  await assert.rejects(second.start(), (error: unknown) => {
    assert.ok(isAppError(error));
    assert.equal(error.code, 'CONFIG_INVALID');
    return true;
  });
  // Give a sweep that was started anyway the time to fail against the closed database.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(
    lines.filter((line) => /sweep|failed/.test(line)),
    [],
  );
});

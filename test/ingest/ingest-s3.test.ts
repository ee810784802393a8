/**
 * The ingest server on a bucket (INGEST_STORAGE=s3) against a real S3 implementation: OpenStack
 * Swift with s3api (test/helpers/swift-s3.ts), one instance for the file, a bucket per test.
 * Processing is the real pipeline (ffmpeg) on a 2-second clip.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { once } from 'node:events';
import {
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { request } from 'undici';
import { loadConfig } from '../../src/config/index.js';
import type { IngestServerOptions } from '../../src/ingest/index.js';
import { processorFromConfig } from '../../src/processing/index.js';
import { startIngestProcess } from '../helpers/ingest-process.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import {
  eventually,
  objectSha256,
  openUploads,
  s3Settings,
  sharedSwift,
} from '../object-storage/s3-fixtures.js';
import { openService } from '../uploads/upload-fixtures.js';
import {
  postUpload,
  sha256File,
  sha256Of,
  openTusPatch,
  tusCreate,
  tusOffset,
  tusPatch,
  tusRequest,
  writeRandomFile,
} from './ingest-support.js';
import { tusMetadata } from '../../src/uploads/tus-transport.js';
import { recordSegments } from './segment-fixtures.js';

const MIB = 1024 * 1024;
const shared = sharedSwift();

/** An ingest server with INGEST_STORAGE=s3 on `bucket` (configured as `streamai ingest` would be). */
async function startS3Ingest(
  t: TestContext,
  bucket: string,
  overrides: Partial<IngestServerOptions> & { processing?: boolean } = {},
): Promise<Awaited<ReturnType<typeof startIngestServer>>> {
  const config = loadConfig({
    env: { ...shared.swift.env(bucket), UPLOAD_TARGET: 'server', INGEST_STORAGE: 's3' },
    envFile: false,
  });
  assert.equal(config.storage.ingestStorage, 's3');
  const { processing = true, ...rest } = overrides;
  return startIngestServer(t, {
    storage: { kind: config.storage.ingestStorage, s3: config.storage.s3 },
    ...(processing ? { createProcessor: processorFromConfig(config) } : {}),
    ...rest,
  });
}

async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

async function headSha256(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return head.Metadata?.['sha256'];
}

interface Status {
  state: string;
  upload: { sha256: string | null; file_size: number | null };
  processing: { state?: string; outputs?: Array<{ name: string; size: number }> };
}

async function status(url: string, taskId: string): Promise<Status> {
  const res = await request(`${url}/status/${taskId}`);
  assert.equal(res.statusCode, 200);
  return (await res.body.json()) as Status;
}

async function waitDone(url: string, taskId: string): Promise<Status> {
  let last: Status | undefined;
  await eventually(
    async () => {
      last = await status(url, taskId);
      return last.state === 'done' || last.state === 'failed';
    },
    120_000,
    `processing of ${taskId}`,
  );
  assert.ok(last);
  assert.equal(last.state, 'done', JSON.stringify(last.processing));
  return last;
}

/** Outputs are in the bucket once the task shows done, and /outputs serves them byte-identical. */
async function assertOutputsInBucket(
  url: string,
  bucket: string,
  taskId: string,
  dataDir: string,
  outputs: Array<{ name: string; size: number }>,
): Promise<void> {
  assert.ok(outputs.length > 0, 'processing listed outputs');
  const client = shared.client;
  // Stored before the run was recorded done: no waiting.
  assert.equal((await keysUnder(client, bucket, `recordings/${taskId}/outputs/`)).length, outputs.length);
  assert.ok(
    !(await readdir(path.join(dataDir, '.scratch')).catch(() => [] as string[])).includes(taskId),
    'the scratch folder is freed',
  );
  const output = outputs[0];
  assert.ok(output);
  const key = `recordings/${taskId}/outputs/${output.name}`;
  const res = await request(`${url}/outputs/${taskId}/${output.name}`);
  assert.equal(res.statusCode, 200);
  const served = Buffer.from(await res.body.arrayBuffer());
  assert.equal(served.length, output.size);
  assert.equal(sha256Of(served), await objectSha256(client, bucket, key));
  const ranged = await request(`${url}/outputs/${taskId}/${output.name}`, {
    headers: { range: 'bytes=1-4' },
  });
  assert.equal(ranged.statusCode, 206);
  assert.deepEqual(Buffer.from(await ranged.body.arrayBuffer()), served.subarray(1, 5));
}

test('s3: a tus upload with an accented name lands in the bucket verified, is processed there, and /outputs serves it', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { seconds: 2, format: 'matroska' });
  const data = await readFile(clip);
  const sha256 = sha256Of(data);
  const { url, dataDir } = await startS3Ingest(t, bucket);

  const name = 'Séance ré-enregistrée été.mkv';
  const created = await tusCreate(url, data.length, {
    filename: name,
    task_id: 'tus-s3',
    auto_process: 'true',
  });
  assert.equal(created.status, 201, created.text);
  assert.ok(created.location);
  const half = Math.floor(data.length / 2);
  assert.equal((await tusPatch(created.location, 0, data.subarray(0, half))).status, 204);
  assert.equal(await tusOffset(created.location), half);
  const last = await tusPatch(created.location, half, data.subarray(half), { 'upload-sha256': sha256 });
  assert.equal(last.status, 204, last.text);
  assert.equal(last.headers['upload-sha256'], sha256);

  const key = `recordings/tus-s3/${name}`;
  assert.equal(await objectSha256(shared.client, bucket, key), sha256, 'byte-identical in the bucket');
  assert.equal(await headSha256(shared.client, bucket, key), sha256);
  assert.deepEqual(await keysUnder(shared.client, bucket, 'recordings/.tus/'), [], 'no tus leftovers');
  const head = await tusRequestHead(created.location);
  assert.equal(head, sha256, 'HEAD of the completed upload carries its digest');

  const done = await waitDone(url, 'tus-s3');
  assert.equal(done.upload.sha256, sha256);
  await assertOutputsInBucket(url, bucket, 'tus-s3', dataDir, done.processing.outputs ?? []);
  assert.deepEqual(
    await readdir(dataDir).then((e) => e.filter((x) => x === 'tus-s3')),
    [],
    'nothing on disk',
  );
  assert.deepEqual(await openUploads(shared.client, bucket), []);
});

async function tusRequestHead(location: string): Promise<string | undefined> {
  const res = await request(location, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
  const value = res.headers['upload-sha256'];
  return typeof value === 'string' ? value : undefined;
}

test('s3: a multipart upload is streamed into the bucket and verified; a wrong digest answers 422 and leaves nothing', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = path.join(dir, 'big.mkv');
  // Three parts of the streamed multipart upload (8 MiB each at most).
  const sha256 = await writeRandomFile(file, 17 * MIB);
  const { url } = await startS3Ingest(t, bucket, { processing: false });

  const ok = await postUpload(url, { task_id: 'mp-s3', sha256 }, { name: 'Réunion.mkv', path: file });
  assert.equal(ok.status, 200, JSON.stringify(ok.json));
  assert.equal(ok.json.sha256, sha256);
  const key = 'recordings/mp-s3/Réunion.mkv';
  assert.equal(await objectSha256(shared.client, bucket, key), sha256);
  assert.equal(await headSha256(shared.client, bucket, key), sha256);

  const wrong = '0'.repeat(64);
  const refused = await postUpload(
    url,
    { task_id: 'mp-wrong', sha256: wrong },
    { name: 'y.mkv', path: file },
  );
  assert.equal(refused.status, 422, JSON.stringify(refused.json));
  assert.deepEqual(await keysUnder(shared.client, bucket, 'recordings/mp-wrong/'), [], 'no final object');
  assert.deepEqual(
    await keysUnder(shared.client, bucket, 'recordings/.incoming/'),
    [],
    'no temporary object',
  );
  assert.deepEqual(await openUploads(shared.client, bucket), [], 'no multipart upload left open');
  assert.equal((await request(`${url}/status/mp-wrong`)).statusCode, 404);

  // An object already at the key with other bytes (another node, the station) is never overwritten.
  await shared.client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'recordings/clash/c.mkv',
      Body: 'other',
      Metadata: { sha256: wrong },
    }),
  );
  const clash = await postUpload(
    url,
    { task_id: 'clash' },
    { name: 'c.mkv', data: Buffer.from('these bytes') },
  );
  assert.equal(clash.status, 409, JSON.stringify(clash.json));
  assert.equal(await headSha256(shared.client, bucket, 'recordings/clash/c.mkv'), wrong);

  // tus: a wrong declared digest is refused at completion, its bytes dropped from the bucket.
  const data = Buffer.from('not really a video, but named like one');
  const created = await tusCreate(url, data.length, {
    filename: 'z.mkv',
    task_id: 'tus-wrong',
    sha256: wrong,
  });
  assert.ok(created.location);
  assert.equal((await tusPatch(created.location, 0, data)).status, 422);
  assert.deepEqual(await keysUnder(shared.client, bucket, 'recordings/tus-wrong/'), []);
  assert.deepEqual(await keysUnder(shared.client, bucket, 'recordings/.tus/'), []);

  // tus termination of an unfinished upload (with a pending < 5 MiB tail) leaves nothing either.
  const dropped = await tusCreate(url, 2 * data.length, { filename: 'w.mkv', task_id: 'tus-dropped' });
  assert.ok(dropped.location);
  assert.equal((await tusPatch(dropped.location, 0, data)).status, 204);
  assert.notDeepEqual(await keysUnder(shared.client, bucket, 'recordings/.tus/'), []);
  const deleted = await request(dropped.location, {
    method: 'DELETE',
    headers: { 'tus-resumable': '1.0.0' },
  });
  assert.equal(deleted.statusCode, 204);
  assert.deepEqual(await keysUnder(shared.client, bucket, 'recordings/.tus/'), []);
  assert.deepEqual(await openUploads(shared.client, bucket), []);
});

test('s3: POST /process-object verifies an object the station put and processes it; bad keys answer 400/404/422', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const clip = await makeClip(path.join(dir, 'Conférence.mkv'), { seconds: 2, format: 'matroska' });
  const sha256 = await sha256File(clip);
  const stationDir = path.join(dir, 'station');
  const { service } = openService(t, stationDir, s3Settings(shared.swift, stationDir, bucket));
  const queued = await service.enqueue(clip, { autoProcess: false });
  const uploaded = await service.waitFor(queued.id);
  assert.equal(uploaded.state, 'completed', JSON.stringify(uploaded.lastError));
  const key = uploaded.object?.key;
  assert.ok(key);

  const { url, dataDir } = await startS3Ingest(t, bucket);
  const post = async (
    body: Record<string, unknown>,
  ): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await request(`${url}/process-object`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
  };
  const code = (r: { json: Record<string, unknown> }): unknown => (r.json.error as { code?: string })?.code;

  const outside = await post({ key: 'elsewhere/x.mkv', sha256 });
  assert.equal(outside.status, 400);
  assert.equal(code(outside), 'OBJECT_KEY_OUTSIDE_PREFIX');
  const sneaky = await post({ key: 'recordings/../x.mkv', sha256 });
  assert.equal(sneaky.status, 400);
  const missing = await post({ key: 'recordings/nobody/none.mkv', sha256 });
  assert.equal(missing.status, 404);
  assert.equal(code(missing), 'OBJECT_NOT_FOUND');
  const mismatch = await post({ key, sha256: 'f'.repeat(64) });
  assert.equal(mismatch.status, 422);
  assert.equal(code(mismatch), 'CHECKSUM_MISMATCH');

  const accepted = await post({ key, sha256, task_id: uploaded.id });
  assert.equal(accepted.status, 202, JSON.stringify(accepted.json));
  assert.deepEqual(
    { task_id: accepted.json.task_id, state: accepted.json.state },
    { task_id: uploaded.id, state: 'queued' },
  );
  const done = await waitDone(url, uploaded.id);
  assert.equal(done.upload.sha256, sha256);
  await assertOutputsInBucket(url, bucket, uploaded.id, dataDir, done.processing.outputs ?? []);
});

test('s3: the parts of a segmented recording are verified into the bucket, fetched, joined, and the joined file put back', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const [p0, p1] = await Promise.all((await recordSegments(dir, 4)).map((f) => readFile(f)));
  assert.ok(p0 && p1);
  const { url, dataDir } = await startS3Ingest(t, bucket, { processing: false });
  const common = { task_id: 'rec-s3', recording_id: 'rec-1', auto_process: 'false' };

  const created = await tusCreate(url, p0.length, {
    ...common,
    filename: 'talk_000.mkv',
    segment_index: '0',
  });
  assert.ok(created.location);
  assert.equal((await tusPatch(created.location, 0, p0, { 'upload-sha256': sha256Of(p0) })).status, 204);
  const last = await postUpload(
    url,
    { ...common, segment_index: '1', segment_count: '2', sha256: sha256Of(p1) },
    { name: 'talk_001.mkv', data: p1 },
  );
  assert.equal(last.status, 200, JSON.stringify(last.json));

  let view: Status | undefined;
  await eventually(
    async () => {
      view = await status(url, 'rec-s3');
      return view.state === 'received';
    },
    30_000,
    'the recording to be joined',
  );
  const joined = (await keysUnder(shared.client, bucket, 'recordings/rec-s3/')).filter(
    (k) => !k.includes('/outputs/'),
  );
  assert.equal(joined.length, 1, joined.join());
  const key = joined[0] ?? '';
  assert.equal(await objectSha256(shared.client, bucket, key), view?.upload.sha256);
  assert.equal(await headSha256(shared.client, bucket, key), view?.upload.sha256);
  // The parts go right after the joined file is recorded.
  await eventually(
    async () => (await keysUnder(shared.client, bucket, 'recordings/.parts/')).length === 0,
    10_000,
    'parts removed once joined',
  );
  assert.deepEqual(
    await readdir(path.join(dataDir, '.scratch')).catch(() => [] as string[]),
    [],
    'scratch freed',
  );
});

test('s3: wrong keys or a missing bucket stop the start-up with one line naming the variables', async (t) => {
  const bucket = await shared.swift.createBucket();
  const start = async (env: Record<string, string>): Promise<unknown> => {
    const config = loadConfig({
      env: { ...shared.swift.env(bucket), UPLOAD_TARGET: 'server', INGEST_STORAGE: 's3', ...env },
      envFile: false,
    });
    return startIngestServer(t, { storage: { kind: 's3', s3: config.storage.s3 } }).then(
      () => assert.fail('the server started'),
      (error: unknown) => error,
    );
  };
  const wrongKey = (await start({ S3_SECRET_ACCESS_KEY: 'not-the-secret' })) as {
    code?: string;
    message: string;
  };
  assert.equal(wrongKey.code, 'CONFIG_INVALID');
  assert.match(wrongKey.message, /^S3_ACCESS_KEY_ID\/S3_SECRET_ACCESS_KEY: /);
  assert.doesNotMatch(wrongKey.message, /\n|not-the-secret/);
  const noBucket = (await start({ S3_BUCKET: 'no-such-bucket-here' })) as { code?: string; message: string };
  assert.equal(noBucket.code, 'CONFIG_INVALID');
  assert.match(noBucket.message, /^S3_BUCKET: /);
  assert.throws(
    () => loadConfig({ env: { INGEST_STORAGE: 's3' }, envFile: false }),
    (error: Error) => /^S3_BUCKET: is required when INGEST_STORAGE=s3/.test(error.message),
  );
});

test('s3: `streamai ingest` SIGKILLed mid-PATCH and restarted resumes the tus upload from the parts in the bucket', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = path.join(dir, 'killed.mkv');
  const size = 20 * MIB;
  const sha256 = await writeRandomFile(file, size);
  const data = await readFile(file);
  const dataDir = path.join(dir, 'ingest');
  const start = (): ReturnType<typeof startIngestProcess> =>
    startIngestProcess(t, {
      script: 'src/cli/main.ts',
      args: ['ingest', '--port', '0', '--data-dir', dataDir],
      env: {
        ...shared.swift.env(bucket),
        UPLOAD_TARGET: 'server',
        INGEST_STORAGE: 's3',
        INGEST_API_KEYS: '',
        STREAMAI_LOG_FILE: path.join(dir, 'logs', 'streamai.log'),
      },
    });

  const first = await start();
  const created = await tusCreate(first.url, size, { filename: 'killed.mkv', task_id: 'killed-s3' });
  assert.equal(created.status, 201, created.text);
  const uploadPath = new URL(created.location ?? '').pathname;
  const stagingKey = `recordings/.tus/${path.posix.basename(uploadPath)}`;
  const req = openTusPatch(`${first.url}${uploadPath}`, size);
  await new Promise<void>((resolve) => req.write(data.subarray(0, 14 * MIB), () => resolve()));
  // Kill once the bucket holds a part of it: the kill lands mid-upload, after bytes were stored.
  const client = shared.client;
  await eventually(
    async () => {
      const uploads = await client.send(
        new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: stagingKey }),
      );
      const uploadId = uploads.Uploads?.[0]?.UploadId;
      if (!uploadId) return false;
      const parts = await client.send(
        new ListPartsCommand({ Bucket: bucket, Key: stagingKey, UploadId: uploadId }),
      );
      return (parts.Parts ?? []).length > 0;
    },
    30_000,
    'a part in the bucket',
  );
  first.child.kill('SIGKILL');
  await once(first.child, 'exit');
  req.destroy();
  assert.deepEqual(await keysUnder(client, bucket, 'recordings/killed-s3/'), [], 'nothing final yet');

  const second = await start();
  const uploadUrl = `${second.url}${uploadPath}`;
  const offset = await tusOffset(uploadUrl);
  assert.ok(offset >= 8 * MIB && offset <= 14 * MIB, `offset after restart: ${offset}`);
  const rest = await tusPatch(uploadUrl, offset, data.subarray(offset), { 'upload-sha256': sha256 });
  assert.equal(rest.status, 204, rest.text);
  assert.equal(rest.headers['upload-sha256'], sha256, 'digest read back from the assembled object');
  assert.equal(await objectSha256(client, bucket, 'recordings/killed-s3/killed.mkv'), sha256);
  assert.deepEqual(await keysUnder(client, bucket, 'recordings/.tus/'), []);
  assert.deepEqual(await openUploads(client, bucket), []);
  second.child.kill('SIGTERM');
  await once(second.child, 'exit');
});

test('s3: a part streamed while it was recorded (tus, deferred length) lands verified; its completing PATCH tells the count and the recording is joined', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const part = await readFile(
    await makeClip(path.join(dir, 'part00000.ts'), { seconds: 2, format: 'mpegts' }),
  );
  const { url } = await startS3Ingest(t, bucket, { processing: false });
  const created = await tusRequest(`${url}/files/`, 'POST', {
    'upload-defer-length': '1',
    'upload-metadata': tusMetadata({
      filename: 'part00000.ts',
      task_id: 'rec-grow',
      recording_id: 'rec-g',
      segment_index: '0',
      recording_file_name: 'talk.mkv',
      auto_process: 'false',
    }),
  });
  assert.equal(created.status, 201, created.text);
  const location = new URL(String(created.headers.location), url).toString();
  // Three PATCHes as the part grew, the last one with its length, digest and the count.
  const cuts = [0, Math.floor(part.length / 3), Math.floor((2 * part.length) / 3), part.length];
  for (let i = 0; i < 3; i++) {
    const last = i === 2;
    const answer = await tusPatch(
      location,
      cuts[i] ?? 0,
      part.subarray(cuts[i], cuts[i + 1]),
      last
        ? {
            'upload-length': String(part.length),
            'upload-sha256': sha256Of(part),
            'upload-segment-count': '1',
          }
        : {},
    );
    assert.equal(answer.status, 204, answer.text);
    assert.equal(answer.headers['upload-offset'], String(cuts[i + 1]));
  }
  let view: Status | undefined;
  await eventually(
    async () => {
      view = await status(url, 'rec-grow');
      return view.state === 'received';
    },
    30_000,
    'the recording to be joined',
  );
  const part0 = await status(url, 'rec-grow.part-0');
  assert.equal(part0.upload.sha256, sha256Of(part));
  const joined = (await keysUnder(shared.client, bucket, 'recordings/rec-grow/')).filter(
    (k) => !k.includes('/outputs/'),
  );
  assert.deepEqual(joined, ['recordings/rec-grow/talk.mkv']);
  assert.equal(await objectSha256(shared.client, bucket, joined[0] ?? ''), view?.upload.sha256);
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { parseS3Url, type RecordingManifest } from '../../src/object-storage/index.js';
import { S3UploadJournalRepository } from '../../src/store/index.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, openService, sha256Of } from '../uploads/upload-fixtures.js';
import { startS3PartProxy } from './s3-part-proxy.js';
import { eventually, objectSha256, openUploads, s3Settings, sharedSwift } from './s3-fixtures.js';

const MIB = 1024 * 1024;
const shared = sharedSwift();

test('a recording with an accented name reaches the bucket byte-identical, verified, with its manifest', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = await makeBigClip(path.join(dir, 'Séance ré-enregistrée été.mkv'), 12 * MIB);
  const { service } = openService(
    t,
    path.join(dir, 'data'),
    s3Settings(shared.swift, path.join(dir, 'data'), bucket),
  );

  const queued = await service.enqueue(file, { sessionName: 'Conférence à Genève', autoProcess: false });
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.protocol, 's3');
  assert.deepEqual(
    task.target,
    { url: `s3://${bucket}/recordings/`, protocol: 's3', endpoint: shared.swift.endpoint },
    'the target is the bucket, not a server',
  );
  const object = task.object;
  assert.ok(object, 'the task result names the object');
  assert.equal(object.bucket, bucket);
  assert.equal(object.key, `recordings/${task.id}/Séance ré-enregistrée été.mkv`);
  assert.equal(object.verifiedBy, 'etag');
  assert.match(object.etag, /^[0-9a-f]{32}-3$/, 'three 5 MiB parts');
  assert.equal(await objectSha256(shared.client, bucket, object.key), await sha256Of(file));
  const head = await shared.client.send(new HeadObjectCommand({ Bucket: bucket, Key: object.key }));
  assert.equal(head.Metadata?.['sha256'], task.sha256);
  assert.equal(head.ContentType, 'video/x-matroska');

  const manifestAnswer = await shared.client.send(
    new GetObjectCommand({ Bucket: bucket, Key: object.manifestKey }),
  );
  const manifest = JSON.parse(await (manifestAnswer.Body?.transformToString() ?? '')) as RecordingManifest;
  assert.equal(object.manifestKey, `${object.key}.manifest.json`);
  assert.equal(manifest.task_id, task.id);
  assert.equal(manifest.session.name, 'Conférence à Genève');
  assert.equal(manifest.recording.file_name, 'Séance ré-enregistrée été.mkv');
  assert.equal(manifest.recording.size, 12 * MIB);
  assert.ok(manifest.recording.duration_seconds !== null && manifest.recording.duration_seconds > 0.5);
  assert.equal(manifest.sha256, task.sha256);
  assert.deepEqual(
    { etag: manifest.object.etag, parts: manifest.object.part_count, by: manifest.object.verified_by },
    { etag: object.etag, parts: 3, by: 'etag' },
  );
  assert.ok(!Number.isNaN(Date.parse(manifest.upload_time)));
  assert.deepEqual(await openUploads(shared.client, bucket), [], 'no multipart upload left open');
  assert.match(
    service.history(task.id).at(-1)?.message ?? '',
    /multipart ETag .* equals the one computed here/,
  );
});

test('a part damaged on the way is detected by Content-MD5 and sent again', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const proxy = await startS3PartProxy(shared.swift.endpoint);
  t.after(() => proxy.close());
  proxy.corruptNext(2);
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 11 * MIB);
  const settings = s3Settings(shared.swift, path.join(dir, 'data'), bucket, { endpoint: proxy.endpoint });
  const { service } = openService(t, path.join(dir, 'data'), settings);

  const task = await service.waitFor((await service.enqueue(file, { autoProcess: false })).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(proxy.sent.get(2), 2, 'part 2 went twice: once damaged, once whole');
  assert.equal(proxy.sent.get(1), 1);
  assert.ok(
    service
      .history(task.id)
      .some((e) => /part 2 reached the bucket corrupted \(BadDigest\)/.test(e.message ?? '')),
  );
  assert.equal(await objectSha256(shared.client, bucket, task.object?.key ?? ''), await sha256Of(file));
});

test('on resume a part the bucket holds with other bytes than the journal says is sent again', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const bucket = await shared.swift.createBucket();
  const proxy = await startS3PartProxy(shared.swift.endpoint);
  t.after(() => proxy.close());
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 16 * MIB);
  // Slow enough to stop it after two of four parts.
  const settings = s3Settings(shared.swift, dataDir, bucket, {
    endpoint: proxy.endpoint,
    env: { VULTR_UPLOAD_MAX_RATE: '20MB/s' },
  });
  const first = openService(t, dataDir, settings);
  const queued = await first.service.enqueue(file, { autoProcess: false });
  const journals = new S3UploadJournalRepository(first.db);
  await eventually(() => (journals.find(queued.id)?.parts.length ?? 0) >= 2, 20_000, 'two parts journaled');
  await first.service.close();

  const journal = journals.find(queued.id);
  assert.ok(journal);
  // Someone (or something) overwrites part 1 in the bucket with other bytes of the same size.
  const other = randomBytes(5 * MIB);
  await shared.client.send(
    new UploadPartCommand({
      Bucket: bucket,
      Key: journal.upload.key,
      UploadId: journal.upload.uploadId,
      PartNumber: 1,
      Body: other,
    }),
  );

  const { service } = openService(t, dataDir, { ...settings, maxRateBytesPerSecond: undefined });
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  const lines = service.history(task.id).map((e) => e.message ?? '');
  assert.ok(
    lines.some((l) => /part 1 in the bucket differs from the journal/.test(l)),
    lines.join('\n'),
  );
  assert.equal(await objectSha256(shared.client, bucket, task.object?.key ?? ''), await sha256Of(file));
  assert.equal(proxy.sent.get(1), 2, 'part 1 sent again');
});

test('cancel aborts the multipart upload: nothing is left in the bucket', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const proxy = await startS3PartProxy(shared.swift.endpoint);
  t.after(() => proxy.close());
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 20 * MIB);
  const settings = s3Settings(shared.swift, path.join(dir, 'data'), bucket, {
    endpoint: proxy.endpoint,
    env: { VULTR_UPLOAD_MAX_RATE: '10MB/s' },
  });
  const { db, service } = openService(t, path.join(dir, 'data'), settings);
  const queued = await service.enqueue(file, { autoProcess: false });
  await eventually(() => proxy.accepted.length >= 1, 20_000, 'a part accepted');
  assert.equal((await openUploads(shared.client, bucket)).length, 1);
  const uploadId = parseS3Url(service.get(queued.id)?.remoteUrl ?? '')?.uploadId;
  assert.ok(uploadId);

  const cancelled = service.cancel(queued.id);

  assert.equal(cancelled.state, 'cancelled');
  await eventually(async () => (await openUploads(shared.client, bucket)).length === 0, 10_000, 'the abort');
  const journal = new S3UploadJournalRepository(db);
  await eventually(() => journal.find(queued.id) === undefined, 5000, 'the journal to forget it');
});

test('wrong credentials fail the task at once with a clear error and no retry', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 1 * MIB);
  const settings = s3Settings(shared.swift, path.join(dir, 'data'), bucket, {
    env: { S3_SECRET_ACCESS_KEY: 'not-the-secret' },
  });
  const { service } = openService(t, path.join(dir, 'data'), settings);

  const task = await service.waitFor((await service.enqueue(file, { autoProcess: false })).id);

  assert.equal(task.state, 'failed');
  assert.equal(task.lastError?.code, 'STORAGE_AUTH_FAILED');
  assert.match(
    task.lastError?.message ?? '',
    /refused the credentials \(SignatureDoesNotMatch\); check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY/,
  );
  assert.equal(task.attempts, 1);
  assert.ok(!service.history(task.id).some((e) => e.state === 'retry_wait'), 'no retry loop');
});

test('503 SlowDown from the bucket is retried, then the upload completes', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
  const proxy = await startFaultProxy(t, shared.swift.endpoint, {
    respond: { count: 1, status: 503, body, headers: { 'content-type': 'application/xml' } },
  });
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 1 * MIB);
  const settings = s3Settings(shared.swift, path.join(dir, 'data'), bucket, { endpoint: proxy.url });
  const { service } = openService(t, path.join(dir, 'data'), settings);

  const task = await service.waitFor((await service.enqueue(file, { autoProcess: false })).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  const waits = service.history(task.id).filter((e) => e.state === 'retry_wait');
  assert.equal(waits.length, 1);
  assert.match(waits[0]?.message ?? '', /^RATE_LIMITED: .*asked to slow down \(SlowDown\)/);
});

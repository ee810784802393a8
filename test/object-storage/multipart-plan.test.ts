import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  digestFile,
  MAX_PARTS,
  MIN_PART_BYTES,
  multipartEtag,
  normalizeEtag,
  parseS3Url,
  partRange,
  planParts,
  recordingKey,
  s3Error,
  s3Url,
} from '../../src/object-storage/index.js';
import { isRetryable } from '../../src/uploads/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { s3TargetUrl, parseS3Target } from '../../src/uploads/s3-task-target.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

test('parts are the preferred size, at least 5 MiB, grown to fit 10,000 parts', () => {
  assert.deepEqual(planParts(1 * GIB, 32 * MIB), { partSize: 32 * MIB, count: 32 });
  assert.deepEqual(planParts(10 * MIB, 1 * MIB), { partSize: MIN_PART_BYTES, count: 2 });
  assert.deepEqual(planParts(1, 32 * MIB), { partSize: 32 * MIB, count: 1 });
  for (const size of [400 * GIB, 1024 * GIB, 4 * 1024 * GIB]) {
    const plan = planParts(size, 32 * MIB);
    assert.ok(plan.count <= MAX_PARTS, `${size}: ${plan.count} parts`);
    assert.equal(plan.partSize % MIB, 0);
    assert.ok(plan.partSize * plan.count >= size);
  }
  assert.throws(() => planParts(60 * 1024 * GIB, 32 * MIB), { code: 'PAYLOAD_TOO_LARGE' });
  assert.deepEqual(partRange({ partSize: 5 * MIB, count: 3 }, 12 * MIB, 3), {
    start: 10 * MIB,
    end: 12 * MIB,
  });
});

test('the multipart ETag is the MD5 of the parts’ binary MD5s and their count', () => {
  const parts = [Buffer.alloc(5 * MIB, 1), Buffer.alloc(1000, 2)].map((b) =>
    createHash('md5').update(b).digest(),
  );
  const expected = `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-2`;
  assert.equal(multipartEtag(parts.map((p) => p.toString('hex'))), expected);
  assert.equal(normalizeEtag('"ABC123-2"'), 'abc123-2');
});

test('one read of the file gives its sha256 and every part’s MD5', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'clip.bin');
  const bytes = Buffer.concat([Buffer.alloc(5 * MIB, 7), Buffer.alloc(5 * MIB, 8), Buffer.alloc(123, 9)]);
  await writeFile(file, bytes);
  const plan = planParts(bytes.length, 5 * MIB);

  const digest = await digestFile(file, bytes.length, plan);

  assert.equal(digest.sha256, createHash('sha256').update(bytes).digest('hex'));
  assert.deepEqual(
    digest.partMd5s,
    [0, 1, 2].map((n) =>
      createHash('md5')
        .update(bytes.subarray(n * 5 * MIB, (n + 1) * 5 * MIB))
        .digest('hex'),
    ),
  );
  await assert.rejects(digestFile(file, bytes.length + 10, plan), { code: 'FILE_CHANGED' });
});

test('an S3 task records the bucket, prefix and endpoint as its target, not a server', () => {
  const url = s3TargetUrl({
    bucket: 'rec-1',
    prefix: 'enregistrements été/',
    endpoint: 'https://ewr1.vultrobjects.com',
  });
  assert.equal(
    url,
    's3://rec-1/enregistrements%20%C3%A9t%C3%A9/?endpoint=https%3A%2F%2Fewr1.vultrobjects.com',
  );
  assert.deepEqual(parseS3Target(url), {
    bucket: 'rec-1',
    prefix: 'enregistrements été/',
    endpoint: 'https://ewr1.vultrobjects.com',
  });
  assert.deepEqual(parseS3Target(s3TargetUrl({ bucket: 'b', prefix: '', endpoint: undefined })), {
    bucket: 'b',
    prefix: '',
    endpoint: null,
  });
  assert.equal(parseS3Target('https://ingest.example.com'), undefined);
});

test('a recording key stays in its folder; s3:// URLs carry bucket, key and UploadId', () => {
  assert.equal(recordingKey('recordings/', 'task_1', 'Été/../x.mkv'), 'recordings/task_1/Été_.._x.mkv');
  assert.equal(recordingKey('', 'task_1', '..'), 'task_1/_');
  const url = s3Url('bucket-1', 'recordings/task_1/séance 1.mkv', 'abc=');
  assert.equal(url, 's3://bucket-1/recordings/task_1/s%C3%A9ance%201.mkv?uploadId=abc%3D');
  assert.deepEqual(parseS3Url(url), {
    bucket: 'bucket-1',
    key: 'recordings/task_1/séance 1.mkv',
    uploadId: 'abc=',
  });
  assert.equal(parseS3Url('https://example.com/x'), undefined);
});

test('S3 failures map onto the retry policy: throttling and 5xx retried, credentials and buckets final', () => {
  const sdk = (name: string, status: number | undefined, extra: Record<string, unknown> = {}): unknown =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status }, ...extra });
  const cases: Array<[unknown, string, boolean]> = [
    [sdk('SlowDown', 503), 'RATE_LIMITED', true],
    [sdk('ServiceUnavailable', 503), 'RATE_LIMITED', true],
    [sdk('InternalError', 500), 'SERVER_ERROR', true],
    [sdk('Error', undefined, { code: 'ECONNREFUSED' }), 'SERVER_UNREACHABLE', true],
    [sdk('InvalidAccessKeyId', 403), 'STORAGE_AUTH_FAILED', false],
    [sdk('SignatureDoesNotMatch', 403), 'STORAGE_AUTH_FAILED', false],
    [sdk('UnknownError', 403), 'STORAGE_AUTH_FAILED', false],
    [sdk('NoSuchBucket', 404), 'BUCKET_NOT_FOUND', false],
    [sdk('EntityTooLarge', 400), 'UPLOAD_FAILED', false],
  ];
  for (const [error, code, retryable] of cases) {
    const mapped = s3Error(error, 'part 1 of 2');
    assert.equal(mapped.code, code, String(error));
    assert.equal(isRetryable(mapped), retryable, code);
  }
});

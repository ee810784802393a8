import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli, spawnCli } from '../uploads/run-cli.js';
import { makeBigClip, sha256Of } from '../uploads/upload-fixtures.js';
import { startProcessObjectRecorder } from './process-object-recorder.js';
import { startS3PartProxy } from './s3-part-proxy.js';
import { objectSha256, openUploads, sharedSwift } from './s3-fixtures.js';

const MIB = 1024 * 1024;
const shared = sharedSwift();

function cliEnv(dir: string, bucket: string, more: Record<string, string> = {}): Record<string, string> {
  return {
    ...shared.swift.env(bucket),
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    VULTR_UPLOAD_CHUNK_SIZE: '5MiB',
    LOG_LEVEL: 'warn',
    ...more,
  };
}

test('streamai test checks the bucket: credentials, write, read back, delete, one ✓ line each', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();

  const { code, stdout } = await runCli(['test'], cliEnv(dir, bucket), dir);

  assert.equal(code, 0, stdout);
  const lines = stdout.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.split(':')[0]),
    ['✓ ffmpeg', '✓ configuration', '✓ credentials', '✓ write', '✓ read back', '✓ delete'],
  );
  assert.match(lines[1] ?? '', new RegExp(`UPLOAD_TARGET=s3, S3_BUCKET=${bucket}`));
  assert.deepEqual(await openUploads(shared.client, bucket), []);
});

test('streamai test with a wrong secret shows one ✗ credentials line and stops there', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();

  const { code, stdout } = await runCli(
    ['test'],
    cliEnv(dir, bucket, { S3_SECRET_ACCESS_KEY: 'wrong' }),
    dir,
  );

  assert.equal(code, 1);
  const lines = stdout.trim().split('\n');
  assert.equal(lines.length, 3, stdout); // ffmpeg, configuration, credentials
  assert.match(lines[2] ?? '', /^✗ credentials: \[STORAGE_AUTH_FAILED\] bucket .* refused the credentials/);
});

test('streamai upload puts a recording with an accented name into the bucket', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = await makeBigClip(path.join(dir, 'Répétition générale.mkv'), 6 * MIB);

  const { code, stdout, stderr } = await runCli(
    ['upload', file, '--session-name', 'Été 2026', '--no-process'],
    cliEnv(dir, bucket),
    dir,
  );

  assert.equal(code, 0, stderr);
  const [taskId, result] = stdout.trim().split('\n');
  const key = `recordings/${taskId}/Répétition générale.mkv`;
  assert.equal(
    result,
    `completed ${taskId}: Répétition générale.mkv (6.0 MiB) stored in s3://${bucket}/${key}, ETag ${/ETag ([0-9a-f]{32}-2)/.exec(result ?? '')?.[1]} verified, sha256 ${await sha256Of(file)}`,
  );
  assert.equal(await objectSha256(shared.client, bucket, key), await sha256Of(file));
});

test('streamai upload with a processing server: the object is in the bucket, then the server is asked to process it before the command exits', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const server = await startProcessObjectRecorder(t);
  const file = await makeBigClip(path.join(dir, 'talk.mkv'), 1 * MIB);
  const env = cliEnv(dir, bucket, { VULTR_API_URL: server.url, VULTR_API_KEY: 'k' });

  const { code, stdout, stderr } = await runCli(['upload', file], env, dir);

  assert.equal(code, 0, stderr);
  const taskId = stdout.trim().split('\n')[0] ?? '';
  assert.deepEqual(
    server.processObjects().map((r) => r.body),
    [
      {
        key: `recordings/${taskId}/talk.mkv`,
        sha256: await sha256Of(file),
        task_id: taskId,
        filename: 'talk.mkv',
      },
    ],
  );
  const status = await runCli(['upload-status', taskId], env, dir);
  assert.match(status.stdout, /^processing: started on the server \(POST \/process-object\)$/m);
  assert.match(status.stdout, /^server: processing \(25%\)$/m, 'then followed on the server');
});

test('wrong credentials: streamai upload fails at once with a clear error, no retry loop', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 1 * MIB);

  const { code, stdout, stderr } = await runCli(
    ['upload', file, '--no-process'],
    cliEnv(dir, bucket, { S3_ACCESS_KEY_ID: 'test:nobody' }),
    dir,
  );

  assert.equal(code, 77, stdout + stderr);
  const output = stdout + stderr;
  assert.match(output, /STORAGE_AUTH_FAILED/);
  assert.match(output, /check S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY/);
  assert.doesNotMatch(output, /retry/);
});

test('SIGKILL of streamai upload mid-upload: the rerun resumes, at most one part is sent twice, the object is byte-identical', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const proxy = await startS3PartProxy(shared.swift.endpoint);
  t.after(() => proxy.close());
  const file = await makeBigClip(path.join(dir, 'long recording.mkv'), 30 * MIB);
  const env = cliEnv(dir, bucket, { S3_ENDPOINT: proxy.endpoint });

  const first = spawnCli(['upload', file, '--no-process'], { ...env, VULTR_UPLOAD_MAX_RATE: '15MB/s' }, dir);
  let firstOut = '';
  first.stdout?.on('data', (d: Buffer) => (firstOut += d.toString()));
  const killed = new Promise<NodeJS.Signals | null>((resolve) =>
    first.on('close', (_c, signal) => resolve(signal)),
  );
  proxy.onAccepted = () => {
    if (proxy.accepted.length === 2) first.kill('SIGKILL');
  };
  assert.equal(await killed, 'SIGKILL');
  proxy.onAccepted = undefined;
  const taskId = firstOut.trim().split('\n')[0];
  assert.match(taskId ?? '', /^task_/);
  assert.equal(
    (await openUploads(shared.client, bucket)).length,
    1,
    'the multipart upload survives the crash',
  );

  const second = await runCli(['upload', file, '--no-process'], env, dir);

  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout.trim().split('\n')[0], taskId, 'the same task resumed');
  const parts = [1, 2, 3, 4, 5, 6];
  for (const n of parts) {
    const times = proxy.sent.get(n) ?? 0;
    assert.ok(times >= 1 && times <= 2, `part ${n} sent ${times} times`);
  }
  const twice = parts.filter((n) => proxy.sent.get(n) === 2);
  assert.ok(twice.length <= 1, `parts sent twice: ${twice.join(', ')}`);
  const key = `recordings/${taskId}/long recording.mkv`;
  assert.equal(await objectSha256(shared.client, bucket, key), await sha256Of(file));
  assert.deepEqual(await openUploads(shared.client, bucket), []);
  const status = await runCli(['upload-status', taskId ?? ''], env, dir);
  assert.match(status.stdout, /resuming multipart upload \S+: [23] of 6 parts already in the bucket/);
  assert.match(
    status.stdout,
    new RegExp(`^bucket: s3://${bucket}/${key} {2}ETag [0-9a-f]{32}-6 {2}manifest `, 'm'),
  );
  assert.match(status.stdout, new RegExp(`^target: s3://${bucket}/recordings/ at ${proxy.endpoint}$`, 'm'));
  assert.match(status.stdout, new RegExp(`^parts: 6 of 6 in the bucket, key ${key}$`, 'm'));
  const list = await runCli(['uploads'], env, dir);
  assert.match(list.stdout, new RegExp(`^${taskId} +completed .* 6/6 parts → s3://${bucket}/${key}$`, 'm'));
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { processorFromConfig } from '../../src/processing/index.js';
import { launchChromium, pageProblems } from '../helpers/browser.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { call, startStation } from '../helpers/station.js';
import { makeBigClip, openService, sha256Of } from '../uploads/upload-fixtures.js';
import { startProcessObjectRecorder } from './process-object-recorder.js';
import { eventually, s3Settings, sharedSwift } from './s3-fixtures.js';

const MIB = 1024 * 1024;
const shared = sharedSwift();

test('after an S3 upload the processing server is asked to process the object; a failure is shown and asked again, across a restart', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const bucket = await shared.swift.createBucket();
  // Down at first (503 after 503), then, after the restart, it accepts.
  const server = await startProcessObjectRecorder(
    t,
    Array.from({ length: 50 }, () => 503),
  );
  const settings = s3Settings(shared.swift, dataDir, bucket, {
    env: { VULTR_API_KEY: 'the-key' },
    overrides: { apiUrl: server.url, retryBaseDelayMs: 100_000, retryMaxDelayMs: 200_000 },
  });
  const file = await makeBigClip(path.join(dir, 'Séance été.mkv'), 6 * MIB);
  const first = openService(t, dataDir, { ...settings, retryBaseDelayMs: 50, retryMaxDelayMs: 100 });

  const task = await first.service.waitFor((await first.service.enqueue(file, { autoProcess: true })).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  await eventually(
    () => (first.service.get(task.id)?.s3?.processing?.attempts ?? 0) >= 2,
    10_000,
    'two requests',
  );
  const asked = server.processObjects();
  assert.deepEqual(asked[0]?.body, {
    key: `recordings/${task.id}/Séance été.mkv`,
    sha256: await sha256Of(file),
    task_id: task.id,
    filename: 'Séance été.mkv',
  });
  assert.equal(asked[0]?.headers.authorization, 'Bearer the-key');
  assert.equal(asked[0]?.headers['content-type'], 'application/json');
  const pending = first.service.get(task.id);
  assert.equal(pending?.state, 'completed', 'a failure to start processing does not fail the upload');
  assert.equal(pending?.s3?.processing?.state, 'pending');
  assert.equal(pending?.s3?.processing?.lastError?.code, 'SERVER_ERROR');
  assert.ok(
    first.service
      .history(task.id)
      .some((e) => /^processing not started yet: .*asking again in/.test(e.message ?? '')),
  );
  await first.service.close();
  const askedBefore = server.processObjects().length;
  server.answers.length = 0;

  // The next start asks again (the row says it is due once its delay passed: made due here).
  first.db.prepare('UPDATE s3_process_requests SET next_attempt_at = 0').run();
  const second = openService(t, dataDir, settings);
  await eventually(() => second.service.get(task.id)?.s3?.processing?.state === 'started', 10_000, 'started');

  assert.equal(server.processObjects().length, askedBefore + 1);
  const lines = second.service.history(task.id).map((e) => e.message ?? '');
  assert.match(
    lines.at(-1) ?? '',
    /^processing started: http:\/\/127\.0\.0\.1:\d+ \(POST \/process-object\) accepted recordings\/task_/,
  );
});

test('a server that refuses the object for good: shown once, not asked again; auto-process off: nobody is asked', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const bucket = await shared.swift.createBucket();
  const server = await startProcessObjectRecorder(t, [422]);
  const settings = s3Settings(shared.swift, dataDir, bucket, { overrides: { apiUrl: server.url } });
  const { service } = openService(t, dataDir, settings);
  const refused = await makeBigClip(path.join(dir, 'refused.mkv'), 1 * MIB);
  const quiet = await makeBigClip(path.join(dir, 'no-process.mkv'), 1 * MIB);

  const task = await service.waitFor((await service.enqueue(refused, { autoProcess: true })).id);
  const other = await service.waitFor((await service.enqueue(quiet, { autoProcess: false })).id);

  await eventually(() => service.get(task.id)?.s3?.processing?.state === 'failed', 10_000, 'the refusal');
  assert.equal(service.get(task.id)?.state, 'completed');
  assert.equal(service.get(task.id)?.s3?.processing?.lastError?.code, 'CHECKSUM_MISMATCH');
  assert.ok(
    service
      .history(task.id)
      .some((e) => /^processing not started: .* refused it \(CHECKSUM_MISMATCH/.test(e.message ?? '')),
  );
  assert.equal(other.state, 'completed');
  assert.equal(service.get(other.id)?.s3?.processing, null, 'auto-process off: not asked');
  assert.equal(server.processObjects().length, 1);
});

test('a server that keeps its files on disk cannot process an object: said once, not asked again', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const ingest = await startIngestServer(t); // INGEST_STORAGE=fs
  const stationDir = path.join(dir, 'station');
  const settings = s3Settings(shared.swift, stationDir, bucket, { overrides: { apiUrl: ingest.url } });
  const { service } = openService(t, stationDir, settings);
  const file = await makeBigClip(path.join(dir, 'clip.mkv'), 1 * MIB);

  const task = await service.waitFor((await service.enqueue(file, { autoProcess: true })).id);

  await eventually(() => service.get(task.id)?.s3?.processing?.state === 'failed', 10_000, 'the refusal');
  const processing = service.get(task.id)?.s3?.processing;
  assert.equal(processing?.lastError?.code, 'PROCESSING_UNAVAILABLE');
  assert.match(processing?.lastError?.message ?? '', /INGEST_STORAGE=s3/);
  assert.equal(processing?.attempts, 1);
});

test('the station API and the page show an S3 task like the others: target, key, parts in the bucket, processing start (live)', async (t) => {
  const bucket = await shared.swift.createBucket();
  const server = await startProcessObjectRecorder(t, [422]);
  const { url, server: station } = await startStation(t, {
    ...shared.swift.env(bucket),
    VULTR_API_URL: server.url,
    VULTR_UPLOAD_CHUNK_SIZE: '5MiB',
  });
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const problems = pageProblems(page);
  await page.goto(url);
  await page.locator('#connection', { hasText: 'Connected' }).waitFor();
  const started = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'Bucket' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  await new Promise((resolve) => setTimeout(resolve, 2500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST' })).status, 200);

  // The server's refusal reaches the open page by itself (no reload): the upload stays completed.
  const row = page.locator('#uploads-list li[data-state="completed"]');
  await row
    .locator('.detail', { hasText: 'processing not started, the server refused it' })
    .waitFor({ timeout: 60_000 });
  const taskId = (await row.getAttribute('data-task-id')) ?? '';
  const detail = (await row.locator('.detail').textContent()) ?? '';
  assert.match(detail, /ETag verified in the bucket/);
  const key = `recordings/${taskId}/`;
  assert.ok(
    detail.includes(`to s3://${bucket}/recordings/ at ${shared.swift.endpoint} · key ${key}`),
    detail,
  );

  type View = Record<string, unknown> & { s3: Record<string, unknown> | null };
  const list = await call(`${url}/api/vultr/uploads?limit=5`);
  const upload = (list.body.uploads as View[]).find((u) => u.task_id === taskId);
  assert.ok(upload);
  assert.equal(upload.state, 'completed');
  assert.equal(upload.protocol, 's3');
  assert.equal(upload.target_url, `s3://${bucket}/recordings/`);
  const s3 = upload.s3 ?? {};
  assert.equal(s3.bucket, bucket);
  assert.equal(s3.endpoint, shared.swift.endpoint);
  assert.equal(s3.key, `${key}${String(upload.file_name)}`);
  assert.equal(s3.parts_in_bucket, s3.part_count);
  assert.equal(s3.verified_by, 'etag');
  assert.match(String(s3.etag), /^[0-9a-f]{32}-\d+$/);
  assert.equal((server.processObjects()[0]?.body as { task_id?: string } | null)?.task_id, taskId);
  const status = await call(`${url}/api/vultr/upload/status/${taskId}`);
  assert.equal(status.status, 200);
  const start = (status.body.s3 as { processing_start: Record<string, unknown> }).processing_start;
  assert.deepEqual(
    { state: start.state, attempts: start.attempts, next: start.next_attempt_at },
    { state: 'failed', attempts: 1, next: null },
  );
  assert.equal((start.last_error as { code: string }).code, 'CHECKSUM_MISMATCH');

  // While uploading, the page says how many parts the bucket holds.
  const view = station.station.listUploads(5).find((u) => u.task_id === taskId);
  assert.ok(view?.s3);
  station.station.emit('upload', {
    ...view,
    state: 'uploading',
    s3: { ...view.s3, parts_in_bucket: 2, part_count: 6 },
  });
  await page
    .locator(`#uploads-list li[data-task-id="${taskId}"] .detail`, { hasText: '2 of 6 parts in the bucket' })
    .waitFor();
  assert.deepEqual(problems, []);
});

test('against the real ingest server on the same bucket (INGEST_STORAGE=s3): the object the station put is verified and processed', async (t) => {
  const dir = await tempDir(t);
  const bucket = await shared.swift.createBucket();
  const config = loadConfig({
    env: { ...shared.swift.env(bucket), UPLOAD_TARGET: 'server', INGEST_STORAGE: 's3' },
    envFile: false,
  });
  const ingest = await startIngestServer(t, {
    storage: { kind: config.storage.ingestStorage, s3: config.storage.s3 },
    createProcessor: processorFromConfig(config),
  });
  const clip = await makeClip(path.join(dir, 'Réunion.mkv'), { seconds: 2, format: 'matroska' });
  const stationDir = path.join(dir, 'station');
  const { service } = openService(
    t,
    stationDir,
    s3Settings(shared.swift, stationDir, bucket, { overrides: { apiUrl: ingest.url } }),
  );

  const task = await service.waitFor((await service.enqueue(clip, { autoProcess: true })).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  await eventually(
    () => service.get(task.id)?.s3?.processing?.state === 'started',
    20_000,
    'the server to accept the object',
  );
  let remote: { state?: string; upload?: { sha256?: string } } | undefined;
  await eventually(
    async () => {
      remote = (await service.remoteStatus(task.id)) as typeof remote;
      return remote?.state === 'done' || remote?.state === 'failed';
    },
    120_000,
    'processing on the server',
  );
  assert.equal(remote?.state, 'done', JSON.stringify(remote));
  assert.equal(remote?.upload?.sha256, task.sha256);
  assert.match(
    service.history(task.id).at(-1)?.message ?? '',
    /^processing started: .* accepted recordings\/task_\S+\/Réunion\.mkv/,
  );
});

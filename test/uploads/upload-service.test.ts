import { execFile } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  confirmationText,
  type UploadProgress,
  type UploadService,
  type UploadState,
  type UploadTask,
} from '../../src/uploads/index.js';
import { freePort, startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { UploadTaskRepository } from '../../src/store/index.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startLegacyServer } from './legacy-server.js';
import { keepGrowing, makeBigClip, openService, sha256Of, testSettings } from './upload-fixtures.js';

const MiB = 1024 * 1024;
/** Request heads and tus framing around the file bytes that a proxy also counts. */
const HEADERS_ALLOWANCE = 64 * 1024;

async function waitUntil(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

function states(service: UploadService, taskId: string): UploadState[] {
  return service.history(taskId).map((e) => e.state);
}

test('uploads a recording by tus and completes once the server holds the same sha256', async (t) => {
  const dir = await tempDir(t);
  const folder = path.join(dir, 'my recordings');
  await mkdir(folder);
  const file = await makeClip(path.join(folder, 'Réunion équipe 1.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url));
  const progress: UploadProgress[] = [];
  service.on('progress', (p) => progress.push(p));

  const queued = await service.enqueue(file, { sessionName: 'Réunion', autoProcess: false });
  assert.match(queued.id, /^task_/);
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.protocol, 'tus');
  assert.equal(task.sha256, await sha256Of(file));
  assert.equal(task.verifiedBy, 'sha256');
  assert.equal(confirmationText(task), `sha256 ${task.sha256} confirmed by the server`);
  assert.equal(task.bytesSent, task.size);
  const stored = path.join(ingest.dataDir, task.id, 'Réunion équipe 1.mkv');
  assert.equal(await sha256Of(stored), task.sha256, 'the server holds an identical file under its own name');
  assert.ok((await stat(file)).isFile(), 'the local file is kept');
  assert.deepEqual(
    states(service, task.id).filter((s, i, all) => s !== all[i - 1]),
    ['queued', 'validating', 'uploading', 'completed'],
  );
  assert.ok(
    progress.some((p) => p.taskId === task.id && p.bytesSent === task.size && p.totalBytes === task.size),
  );
  const remote = (await service.remoteStatus(task.id)) as {
    upload: { sha256: string; session_name: string };
  };
  assert.equal(remote.upload.sha256, task.sha256);
  assert.equal(remote.upload.session_name, 'Réunion');
  assert.equal(service.list(1)[0]?.id, task.id);
});

test('a server without tus gets the upload as the original client sent it', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'séance 2.mkv'), { format: 'matroska' });
  const legacy = await startLegacyServer(t);
  const { service } = openService(t, dir, testSettings(dir, legacy.url, { apiKey: 'k1' }));

  const queued = await service.enqueue(file, { sessionName: 'Séance', autoProcess: true });
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(task.protocol, 'multipart');
  assert.equal(legacy.uploads.length, 1, 'sent once');
  assert.equal(task.verifiedBy, 'size', 'completed at once on its 200 with the same size');
  assert.equal(confirmationText(task), 'accepted by the server, no checksum reported');
  assert.match(
    service.history(task.id).at(-1)?.message ?? '',
    /^accepted by the server, no checksum reported/,
  );
  assert.equal(
    legacy.requests.some((r) => r.startsWith('GET /status')),
    false,
    'no waiting for a digest it never reports',
  );
  const got = legacy.uploads[0]!;
  assert.equal(got.headers.authorization, 'Bearer k1');
  assert.equal(got.fields.task_id, task.id);
  assert.equal(got.fields.session_name, 'Séance');
  assert.equal(got.fields.auto_process, 'true');
  assert.match(got.fields.upload_time ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.equal(got.fields.sha256, task.sha256);
  assert.deepEqual(
    got.order,
    ['task_id', 'session_name', 'auto_process', 'upload_time', 'file', 'sha256'],
    "the original's fields before the file; the sha256 computed while sending, after it",
  );
  assert.deepEqual(
    { ...got.file, sha256: got.file.sha256 },
    {
      fieldname: 'file',
      filename: 'séance 2.mkv',
      mimetype: 'video/mp4',
      size: task.size,
      sha256: task.sha256,
    },
  );
});

test('a missing, empty or non-media file fails at once with its code', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url));
  await writeFile(path.join(dir, 'empty.mkv'), '');
  await writeFile(path.join(dir, 'notes.mp4'), 'not a video at all, just text\n'.repeat(100));

  const cases = [
    ['missing.mkv', 'FILE_NOT_FOUND'],
    ['empty.mkv', 'EMPTY_FILE'],
    ['notes.mp4', 'NOT_A_MEDIA_FILE'],
  ] as const;
  for (const [name, code] of cases) {
    const queued = await service.enqueue(path.join(dir, name));
    const task = await service.waitFor(queued.id);
    assert.equal(task.state, 'failed', name);
    assert.equal(task.lastError?.code, code, name);
    assert.equal(task.attempts, 1, `${name} is not retried`);
  }
  // ffprobe's check runs alongside the first bytes of the send: the tus upload it refused was
  // created on the server, and is not left there.
  const left = await readdir(path.join(ingest.dataDir, '.tus')).catch(() => [] as string[]);
  assert.deepEqual(
    left.filter((entry) => entry.endsWith('.json')),
    [],
    'no partial upload of the refused file stays on the server',
  );
});

test('a file that changes while queued is noticed and uploaded as it is now; re-enqueueing resumes the task', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const changing = await makeClip(path.join(dir, 'changing.mkv'), { format: 'matroska' });
  const steady = await makeClip(path.join(dir, 'steady.mkv'), { format: 'matroska' });
  const { service } = openService(t, dir, testSettings(dir, ingest.url), { start: false });

  const a = await service.enqueue(changing);
  const b1 = await service.enqueue(steady);
  const b2 = await service.enqueue(steady);
  assert.equal(b2.id, b1.id, 'the same unfinished file gets its task back');
  await appendFile(changing, Buffer.alloc(1000, 1));
  service.start();

  const changed = await service.waitFor(a.id);
  assert.equal(changed.state, 'completed', JSON.stringify(changed.lastError));
  assert.equal(changed.sha256, await sha256Of(changing), 'the current content, not the queued one');
  assert.ok(service.history(a.id).some((e) => /changed while queued/.test(e.message ?? '')));
  assert.equal((await service.waitFor(b1.id)).state, 'completed');
  assert.equal(service.list(10).length, 2);
});

test('re-enqueueing a task whose metadata the server has not seen applies the new session name and auto_process', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url), { start: false });

  const first = await service.enqueue(file, { sessionName: 'Brouillon', autoProcess: true });
  const again = await service.enqueue(file, { sessionName: 'Réunion finale', autoProcess: false });

  assert.equal(again.id, first.id, 'the same unfinished task');
  assert.deepEqual(
    [again.sessionName, again.autoProcess, again.optionsNotice],
    ['Réunion finale', false, null],
  );
  assert.match(
    service.history(first.id).at(-1)?.message ?? '',
    /with session name "Réunion finale", auto_process=false \(was session name "Brouillon", auto_process=true\)/,
  );
  service.start();
  const task = await service.waitFor(first.id);
  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  const remote = (await service.remoteStatus(task.id)) as {
    upload: { session_name: string; auto_process: boolean };
  };
  assert.deepEqual([remote.upload.session_name, remote.upload.auto_process], ['Réunion finale', false]);
});

test('re-enqueueing a task already created on the server by tus keeps its options and says so', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 12 * MiB);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 4 * MiB });
  const settings = testSettings(dir, proxy.url, { chunkSizeBytes: 2 * MiB });
  const first = openService(t, dir, settings);
  const queued = await first.service.enqueue(file, { sessionName: 'Brouillon', autoProcess: true });
  await waitUntil('the upload exists on the server', () => {
    const task = first.service.get(queued.id);
    return task?.remoteUrl != null && task.bytesSent > 0;
  });
  await first.service.close();
  first.db.close();

  proxy.set({});
  const second = openService(t, dir, settings, { start: false });
  const again = await second.service.enqueue(file, { sessionName: 'Réunion finale', autoProcess: false });

  assert.equal(again.id, queued.id);
  assert.deepEqual([again.sessionName, again.autoProcess], ['Brouillon', true], 'the old values are kept');
  assert.match(
    again.optionsNotice ?? '',
    /keeps session name "Brouillon", auto_process=true, not session name "Réunion finale"/,
  );
  assert.match(
    second.service.history(queued.id).at(-1)?.message ?? '',
    /tus metadata cannot change after creation/,
  );
  second.service.start();
  const task = await second.service.waitFor(queued.id);
  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  const remote = (await second.service.remoteStatus(task.id)) as {
    upload: { session_name: string; auto_process: boolean };
  };
  assert.deepEqual([remote.upload.session_name, remote.upload.auto_process], ['Brouillon', true]);
  assert.deepEqual(
    [task.sessionName, task.autoProcess],
    ['Brouillon', true],
    'the station agrees with the server',
  );
});

test('a file that changes after part of it was sent fails with FILE_CHANGED instead of sending other bytes', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 8 * MiB);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 4 * MiB });
  const settings = testSettings(dir, proxy.url, { chunkSizeBytes: 2 * MiB });
  const first = openService(t, dir, settings);
  const queued = await first.service.enqueue(file);
  await waitUntil('part of it is on the server', () => (first.service.get(queued.id)?.bytesSent ?? 0) > 0);
  await first.service.close();
  first.db.close();
  await appendFile(file, Buffer.alloc(1000, 1));

  proxy.set({});
  const second = openService(t, dir, settings);
  const task = await second.service.waitFor(queued.id);

  assert.equal(task.state, 'failed');
  assert.equal(task.lastError?.code, 'FILE_CHANGED');
});

test('a file still being written is retried until it stops growing, then uploaded whole', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'growing.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url, { growthCheckMs: 200, retries: 30 }));
  keepGrowing(t, file);

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.ok(
    service
      .history(task.id)
      .some((e) => e.state === 'retry_wait' && /FILE_STILL_GROWING/.test(e.message ?? '')),
  );
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'growing.mkv')), await sha256Of(file));
});

test('server down when the upload starts: retries, then succeeds once it is up', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const port = await freePort();
  const { service } = openService(t, dir, testSettings(dir, `http://127.0.0.1:${port}`));

  const queued = await service.enqueue(file);
  await waitUntil('the first retry is scheduled', () => service.get(queued.id)?.state === 'retry_wait');
  assert.equal(service.get(queued.id)?.lastError?.code, 'SERVER_UNREACHABLE');
  await startFaultProxy(t, ingest.url, {}, { port });
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.ok(task.attempts >= 2);
});

test('a server answering 503 three times, then 507 once, is retried until it succeeds', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { respond: { count: 3, status: 503 } });
  const { service } = openService(t, dir, testSettings(dir, proxy.url));
  service.on('state', (task) => {
    if (task.state === 'retry_wait' && proxy.fired.length === 3) {
      proxy.set({ respond: { count: 1, status: 507 } });
    }
  });

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.deepEqual(proxy.fired, ['respond 503', 'respond 503', 'respond 503', 'respond 507']);
  const retries = service.history(task.id).filter((e) => e.state === 'retry_wait');
  assert.equal(retries.length, 4);
  assert.match(retries[3]?.message ?? '', /INSUFFICIENT_STORAGE/);
});

test('a refused API key fails at once with a message that says what to do', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t, { apiKeys: ['right-key'] });
  const { service } = openService(t, dir, testSettings(dir, ingest.url, { apiKey: 'wrong-key' }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'failed');
  assert.equal(task.attempts, 1);
  assert.equal(task.lastError?.code, 'UNAUTHORIZED');
  assert.match(task.lastError?.message ?? '', /VULTR_API_KEY/);
  assert.equal(states(service, task.id).includes('retry_wait'), false);
});

test('a server that stops reading mid-body hits the stall timeout and the retry completes', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 24 * MiB);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { fault: { kind: 'stall', at: 6 * MiB } });
  const settings = testSettings(dir, proxy.url, { stallTimeoutMs: 1000, chunkSizeBytes: 8 * MiB });
  const { service } = openService(t, dir, settings);

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.deepEqual(proxy.fired, [`stall at ${6 * MiB}`]);
  assert.ok(
    service.history(task.id).some((e) => e.state === 'retry_wait' && /UPLOAD_STALLED/.test(e.message ?? '')),
  );
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'big.mkv')), task.sha256);
});

test('a connection reset mid-body resumes from the server offset, re-sending at most one chunk', async (t) => {
  const dir = await tempDir(t);
  const size = 24 * MiB;
  const chunk = 4 * MiB;
  const file = await makeBigClip(path.join(dir, 'big.mkv'), size);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { fault: { kind: 'reset', at: 10 * MiB + 12345 } });
  const { service } = openService(t, dir, testSettings(dir, proxy.url, { chunkSizeBytes: chunk }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(proxy.fired.length, 1);
  assert.ok(proxy.bytesUp - size <= chunk + HEADERS_ALLOWANCE, `re-sent ${proxy.bytesUp - size} bytes`);
  assert.ok(service.history(task.id).some((e) => /resuming/.test(e.message ?? '')));
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'big.mkv')), task.sha256);
});

test('a restarted service resumes an interrupted upload from the server offset', async (t) => {
  const dir = await tempDir(t);
  const size = 24 * MiB;
  const chunk = 4 * MiB;
  const file = await makeBigClip(path.join(dir, 'big.mkv'), size);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 16 * MiB });
  const settings = testSettings(dir, proxy.url, { chunkSizeBytes: chunk });
  const first = openService(t, dir, settings);
  const queued = await first.service.enqueue(file);
  await waitUntil(
    'a third of the file is on the server',
    () => (first.service.get(queued.id)?.bytesSent ?? 0) >= 8 * MiB,
  );
  await first.service.close();
  first.db.close();

  proxy.set({});
  const second = openService(t, dir, settings, { start: false });
  const resumed = second.service.get(queued.id) as UploadTask;
  assert.equal(resumed.state, 'uploading', 'an interrupted task stays unfinished');
  assert.ok(resumed.remoteUrl !== null, 'with its resume URL in the store');
  second.service.start();
  const task = await second.service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.ok(proxy.bytesUp - size <= chunk + HEADERS_ALLOWANCE, `re-sent ${proxy.bytesUp - size} bytes`);
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'big.mkv')), task.sha256);
});

test('cancel stops an upload and keeps the file; retry then completes it', async (t) => {
  const dir = await tempDir(t);
  const file = await makeBigClip(path.join(dir, 'big.mkv'), 8 * MiB);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 4 * MiB });
  const { service } = openService(t, dir, testSettings(dir, proxy.url, { chunkSizeBytes: 2 * MiB }));

  const queued = await service.enqueue(file);
  await waitUntil('bytes are flowing', () => (service.get(queued.id)?.bytesSent ?? 0) > 0);
  const cancelled = service.cancel(queued.id);
  assert.equal(cancelled.state, 'cancelled');
  assert.equal((await service.waitFor(queued.id)).state, 'cancelled');
  assert.ok((await stat(file)).isFile());

  proxy.set({});
  service.retry(queued.id);
  const task = await service.waitFor(queued.id);
  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'big.mkv')), task.sha256);
});

test('compression uploads a transcoded copy, keeps the original and records the ratio', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'raw.mkv'), { seconds: 2, format: 'matroska' });
  const originalSha = await sha256Of(file);
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url, { compress: 'h264' }));

  const task = await service.waitFor((await service.enqueue(file)).id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.ok(task.compressionRatio !== null && task.compressionRatio > 0);
  assert.equal(await sha256Of(file), originalSha, 'the original is untouched');
  assert.notEqual(task.sha256, originalSha);
  assert.ok(states(service, task.id).includes('compressing'));
  const [stored] = await readdir(path.join(ingest.dataDir, task.id));
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, stored as string)), task.sha256);
  assert.deepEqual(await readdir(path.join(dir, 'tmp')), [], 'the temporary copy is removed');
});

test('HTTPS with a self-signed server: trusted through VULTR_CA_CERT, refused at once without it', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]); // prettier-ignore
  const ingest = await startIngestServer(t, { tlsCertPath: cert, tlsKeyPath: key });
  assert.match(ingest.url, /^https:/);

  const untrusted = openService(t, path.join(dir, 'one'), testSettings(path.join(dir, 'one'), ingest.url));
  const refused = await untrusted.service.waitFor((await untrusted.service.enqueue(file)).id);
  assert.equal(refused.state, 'failed');
  assert.equal(refused.lastError?.code, 'TLS_FAILED');
  assert.match(refused.lastError?.message ?? '', /VULTR_CA_CERT/);
  assert.equal(refused.attempts, 1);

  const trusted = openService(
    t,
    path.join(dir, 'two'),
    testSettings(path.join(dir, 'two'), ingest.url, { caCertPath: cert }),
  );
  const task = await trusted.service.waitFor((await trusted.service.enqueue(file)).id);
  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
});

test('no more uploads run at once than VULTR_UPLOAD_CONCURRENCY allows', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const files = await Promise.all(
    ['one', 'two', 'three'].map((n) => makeClip(path.join(dir, `${n}.mkv`), { format: 'matroska' })),
  );
  const { service } = openService(
    t,
    dir,
    testSettings(dir, ingest.url, { concurrency: 2, growthCheckMs: 200 }),
    {
      start: false,
    },
  );
  const active = new Set<string>();
  let most = 0;
  service.on('state', (task) => {
    if (['validating', 'compressing', 'uploading'].includes(task.state)) active.add(task.id);
    else active.delete(task.id);
    most = Math.max(most, active.size);
  });
  const tasks = [];
  for (const file of files) tasks.push(await service.enqueue(file));
  service.start();

  const done = await Promise.all(tasks.map((task) => service.waitFor(task.id)));

  assert.deepEqual(
    done.map((task) => task.state),
    ['completed', 'completed', 'completed'],
  );
  assert.equal(most, 2);
});

test('a task a dead station on another host held is taken over once its lease expired, and completes', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { db, service } = openService(t, dir, testSettings(dir, ingest.url, { leaseMs: 300 }), {
    start: false,
  });
  const queued = await service.enqueue(file);
  const expires = Date.now() + 500;
  new UploadTaskRepository(db).update(
    queued.id,
    { state: 'uploading', leaseOwner: 'old-container:4242:abcd', leaseExpiresAt: expires },
    new Date().toISOString(),
  );

  service.start();
  const task = await service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  const firstAttempt = service.history(task.id).find((e) => e.state === 'validating');
  assert.ok(firstAttempt && Date.parse(firstAttempt.at) >= expires - 1, 'not before the lease expired');
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'a.mkv')), task.sha256);
});

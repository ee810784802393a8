import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import type { ProcessingStatus, UploadProcessor } from '../../src/ingest/index.js';
import { IngestTaskRepository, ingestMigrations, openDatabase } from '../../src/store/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sha256File, sha256Of, tusCreate, tusPatch, tusRequest, visibleUploads } from './ingest-support.js';

/** A processor that records the jobs it is given. */
class RecordingProcessor implements UploadProcessor {
  readonly jobs: Array<{ taskId: string; filePath: string; outputDir: string }> = [];
  async enqueue(job: { taskId: string; filePath: string; outputDir: string }): Promise<void> {
    this.jobs.push(job);
  }
  async status(taskId: string): Promise<ProcessingStatus | undefined> {
    return this.jobs.some((j) => j.taskId === taskId)
      ? { state: 'queued', progress: 0, steps: [], report: null, outputs: [] }
      : undefined;
  }
  async start(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * Leaves a tus upload as a crash inside completion would: every byte but the last sent, the
 * server stopped, then the last byte written and the file renamed into `<task_id>/<name>`
 * (what completion does before it records the task) — the task is still "receiving".
 * `tamper` changes the bytes that end up in place.
 */
async function crashAfterRename(
  t: TestContext,
  options: {
    taskId: string;
    fileName: string;
    data: Buffer;
    metadata: Record<string, string>;
    tamper?: (data: Buffer) => Buffer;
  },
): Promise<{ dataDir: string; uploadId: string }> {
  const dataDir = path.join(await tempDir(t), 'data');
  const first = await startIngestServer(t, { dataDir });
  const created = await tusCreate(first.url, options.data.length, {
    filename: options.fileName,
    task_id: options.taskId,
    ...options.metadata,
  });
  assert.equal(created.status, 201);
  const location = created.location ?? '';
  const head = options.data.subarray(0, options.data.length - 1);
  assert.equal((await tusPatch(location, 0, head)).status, 204);
  await first.server.close();

  const uploadId = path.basename(new URL(location).pathname);
  const tusFile = path.join(dataDir, '.tus', uploadId);
  const inPlace = options.tamper ? options.tamper(options.data) : options.data;
  await writeFile(tusFile, inPlace);
  await mkdir(path.join(dataDir, options.taskId));
  await rename(tusFile, path.join(dataDir, options.taskId, options.fileName));
  return { dataDir, uploadId };
}

async function statusOf(url: string, taskId: string): Promise<{ code: number; state?: string }> {
  const res = await request(`${url}/status/${taskId}`);
  const body = (await res.body.json()) as { state?: string };
  return { code: res.statusCode, ...(body.state ? { state: body.state } : {}) };
}

test('tus: a completed upload renamed into place but not recorded before a crash is received after restart', async (t) => {
  const data = randomBytes(256 * 1024);
  const digest = sha256Of(data);
  const { dataDir, uploadId } = await crashAfterRename(t, {
    taskId: 'crash-ok',
    fileName: 'talk.mkv',
    data,
    metadata: { sha256: digest, auto_process: 'true' },
  });

  const processor = new RecordingProcessor();
  const { url } = await startIngestServer(t, { dataDir, createProcessor: () => processor });
  const head = await tusRequest(`${url}/files/${uploadId}`, 'HEAD', {});
  assert.equal(head.status, 200);
  assert.equal(head.headers['upload-offset'], String(data.length));
  assert.equal(head.headers['upload-sha256'], digest);

  const status = await request(`${url}/status/crash-ok`);
  const view = (await status.body.json()) as {
    state: string;
    upload: { sha256: string; file_size: number; received_bytes: number };
  };
  assert.equal(view.state, 'processing');
  assert.equal(view.upload.sha256, digest);
  assert.equal(view.upload.file_size, data.length);
  assert.deepEqual(
    processor.jobs.map((j) => j.taskId),
    ['crash-ok'],
  );
  assert.equal(processor.jobs[0]?.filePath, path.join(dataDir, 'crash-ok', 'talk.mkv'));
  assert.equal(await sha256File(path.join(dataDir, 'crash-ok', 'talk.mkv')), digest);
  // The tus record of the moved upload is gone; the upload still answers from its task.
  await assert.rejects(access(path.join(dataDir, '.tus', `${uploadId}.json`)));

  // The client re-sending the same file is told it is already there.
  const again = await tusCreate(url, data.length, {
    filename: 'talk.mkv',
    task_id: 'crash-ok',
    sha256: digest,
  });
  assert.equal(again.status, 201);
  const resent = await tusPatch(again.location ?? '', 0, data);
  assert.equal(resent.status, 204);
  assert.equal(resent.headers['upload-sha256'], digest);
  assert.deepEqual(await visibleUploads(dataDir), [path.join('crash-ok', 'talk.mkv')]);
});

test('tus: without a declared sha256, a complete file in place is recorded with its recomputed sha256', async (t) => {
  const data = randomBytes(64 * 1024);
  const { dataDir, uploadId } = await crashAfterRename(t, {
    taskId: 'crash-nosha',
    fileName: 'memo.m4a',
    data,
    metadata: {},
  });
  const { url } = await startIngestServer(t, { dataDir });
  const head = await tusRequest(`${url}/files/${uploadId}`, 'HEAD', {});
  assert.equal(head.status, 200);
  assert.equal(head.headers['upload-sha256'], sha256Of(data));
  assert.deepEqual(await statusOf(url, 'crash-nosha'), { code: 200, state: 'received' });
});

test('tus: a file in place whose sha256 differs from the declared one is removed at restart, and can be sent again', async (t) => {
  const data = randomBytes(128 * 1024);
  const digest = sha256Of(data);
  const { dataDir, uploadId } = await crashAfterRename(t, {
    taskId: 'crash-bad-sha',
    fileName: 'talk.mp4',
    data,
    metadata: { sha256: digest },
    tamper: (d) => {
      const copy = Buffer.from(d);
      copy[copy.length - 1] = (copy.at(-1) ?? 0) ^ 0xff;
      return copy;
    },
  });
  const { url } = await startIngestServer(t, { dataDir });
  assert.deepEqual(await visibleUploads(dataDir), []);
  const head = await tusRequest(`${url}/files/${uploadId}`, 'HEAD', {});
  assert.notEqual(head.status, 200);
  assert.notEqual((await statusOf(url, 'crash-bad-sha')).state, 'received');

  const again = await tusCreate(url, data.length, {
    filename: 'talk.mp4',
    task_id: 'crash-bad-sha',
    sha256: digest,
  });
  assert.equal(again.status, 201);
  const sent = await tusPatch(again.location ?? '', 0, data);
  assert.equal(sent.status, 204);
  assert.equal(sent.headers['upload-sha256'], digest);
  assert.deepEqual(await statusOf(url, 'crash-bad-sha'), { code: 200, state: 'received' });
});

test('tus: a file in place shorter than the declared length is removed at restart', async (t) => {
  const data = randomBytes(128 * 1024);
  const { dataDir, uploadId } = await crashAfterRename(t, {
    taskId: 'crash-short',
    fileName: 'talk.mkv',
    data,
    metadata: {},
    tamper: (d) => d.subarray(0, d.length - 1),
  });
  const { url } = await startIngestServer(t, { dataDir });
  assert.deepEqual(await visibleUploads(dataDir), []);
  const head = await tusRequest(`${url}/files/${uploadId}`, 'HEAD', {});
  assert.notEqual(head.status, 200);
  assert.notEqual((await statusOf(url, 'crash-short')).state, 'received');
});

/** A multipart task row and its file in place, as a crash inside completion leaves them. */
async function crashedMultipart(
  t: TestContext,
  taskId: string,
  fileName: string,
  data: Buffer,
  declaredSha256: string,
): Promise<string> {
  const dataDir = path.join(await tempDir(t), 'data');
  const db = openDatabase(path.join(dataDir, 'ingest.db'), ingestMigrations);
  try {
    new IngestTaskRepository(db).beginReceiving({
      taskId,
      protocol: 'multipart',
      uploadRef: 'multipart-0123456789abcdef01234567',
      fileName,
      sessionName: 'Crash',
      autoProcess: false,
      uploadTime: '2026-01-02 03:04:05',
      declaredSize: null,
      declaredSha256,
    });
  } finally {
    db.close();
  }
  await mkdir(path.join(dataDir, taskId), { recursive: true });
  await writeFile(path.join(dataDir, taskId, fileName), data);
  return dataDir;
}

test('multipart: a verified file in place after a crash is received at restart; one that does not verify is removed', async (t) => {
  const data = randomBytes(32 * 1024);
  const digest = sha256Of(data);
  const goodDir = await crashedMultipart(t, 'mp-crash-ok', 'session.wav', data, digest);
  const good = await startIngestServer(t, { dataDir: goodDir });
  const status = await request(`${good.url}/status/mp-crash-ok`);
  const view = (await status.body.json()) as {
    state: string;
    upload: { sha256: string; session_name: string };
  };
  assert.equal(view.state, 'received');
  assert.equal(view.upload.sha256, digest);
  assert.equal(view.upload.session_name, 'Crash');
  assert.deepEqual(await visibleUploads(goodDir), [path.join('mp-crash-ok', 'session.wav')]);

  const badDir = await crashedMultipart(
    t,
    'mp-crash-bad',
    'session.wav',
    data,
    sha256Of(Buffer.from('other')),
  );
  const bad = await startIngestServer(t, { dataDir: badDir });
  assert.deepEqual(await visibleUploads(badDir), []);
  assert.equal((await statusOf(bad.url, 'mp-crash-bad')).code, 404);
});

test('tus: the expiry sweep keeps a task begun just now whose tus record is not written yet, and forgets an old one without a record', async (t) => {
  // Creation writes the task row before the store writes the upload's record; a sweep running
  // in between (one runs as the server starts listening) once forgot the new task, leaving its
  // upload without one (seen in CI as a file that start-up recovery no longer knew about).
  const dataDir = path.join(await tempDir(t), 'data');
  const db = openDatabase(path.join(dataDir, 'ingest.db'), ingestMigrations);
  const begin = (taskId: string, now: Date): void => {
    new IngestTaskRepository(db).beginReceiving(
      {
        taskId,
        protocol: 'tus',
        uploadRef: randomBytes(16).toString('hex'),
        fileName: 'talk.mkv',
        sessionName: null,
        autoProcess: false,
        uploadTime: null,
        declaredSize: 1024,
        declaredSha256: null,
      },
      now,
    );
  };
  try {
    begin('sweep-new', new Date());
    begin('sweep-old', new Date(Date.now() - 2 * 3600 * 1000));
  } finally {
    db.close();
  }
  const { server } = await startIngestServer(t, { dataDir });
  // close() waits for the sweep that started with the server.
  await server.close();
  const reopened = openDatabase(path.join(dataDir, 'ingest.db'), ingestMigrations);
  try {
    const repo = new IngestTaskRepository(reopened);
    assert.equal(repo.get('sweep-new')?.state, 'receiving');
    assert.equal(repo.get('sweep-old'), undefined);
  } finally {
    reopened.close();
  }
});

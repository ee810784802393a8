import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Fastify from 'fastify';
import { UploadHttpClient } from '../../src/uploads/index.js';
import { transportFor } from '../../src/uploads/transports.js';
import type { TransportJob } from '../../src/uploads/transport.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from './run-cli.js';
import { openService, sha256Of, testSettings } from './upload-fixtures.js';

test('a task goes to the server it was enqueued for, even when another service picks it up', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'a.mkv'), { format: 'matroska' });
  const theirs = await startIngestServer(t);
  const stations = await startIngestServer(t);
  const first = openService(t, dir, testSettings(dir, theirs.url), { start: false });
  const queued = await first.service.enqueue(file);
  assert.deepEqual(queued.target, { url: theirs.url, protocol: 'auto' });
  await first.service.close();
  first.db.close();

  const station = openService(t, dir, testSettings(dir, stations.url));
  const task = await station.service.waitFor(queued.id);

  assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
  assert.equal(await sha256Of(path.join(theirs.dataDir, task.id, 'a.mkv')), task.sha256);
  const remote = (await station.service.remoteStatus(task.id)) as { upload: { sha256: string } };
  assert.equal(remote.upload.sha256, task.sha256, "status comes from the task's server");
  const atStation = await fetch(`${stations.url}/status/${task.id}`);
  assert.equal(atStation.status, 404, "the station's own server never saw it");
});

test('with requireFile, a missing file, an empty file or a folder is refused at once and leaves no task', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const { service } = openService(t, dir, testSettings(dir, ingest.url));
  await writeFile(path.join(dir, 'empty.mkv'), '');
  await mkdir(path.join(dir, 'folder.mkv'));

  for (const [name, code] of [
    ['missing.mkv', 'FILE_NOT_FOUND'],
    ['empty.mkv', 'EMPTY_FILE'],
    ['folder.mkv', 'NOT_A_FILE'],
  ] as const) {
    await assert.rejects(service.enqueue(path.join(dir, name), { requireFile: true }), { code }, name);
  }
  assert.deepEqual(service.list(10), []);
});

test('streamai upload refuses a missing file, an empty file or a folder, and the queue stays empty', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const env = {
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    VULTR_API_URL: ingest.url,
  };
  await writeFile(path.join(dir, 'empty.mkv'), '');
  await mkdir(path.join(dir, 'folder'));
  for (const [name, code] of [
    ['missing.mkv', 'FILE_NOT_FOUND'],
    ['empty.mkv', 'EMPTY_FILE'],
    ['folder', 'NOT_A_FILE'],
  ] as const) {
    const run = await runCli(['upload', path.join(dir, name)], env, dir);
    assert.notEqual(run.code, 0, name);
    assert.match(run.stderr, new RegExp(`\\[${code}\\]`), name);
    assert.equal(run.stdout.trim(), '', `${name}: no task id printed`);
  }
  const list = await runCli(['uploads', '--json'], env, dir);
  assert.deepEqual(JSON.parse(list.stdout), []);
});

/** A tus server stand-in whose uploads are all complete: HEAD says offset = length. */
async function completeTusServer(t: import('node:test').TestContext) {
  const requests: string[] = [];
  const app = Fastify();
  app.addHook('onRequest', async (request) => {
    requests.push(`${request.method} ${request.url}`);
  });
  app.head('/files/:id', async (request, reply) => {
    const { id } = request.params as { id: string };
    reply.header('tus-resumable', '1.0.0').header('upload-offset', '10').header('upload-length', '10');
    if (id === 'with-digest') reply.header('upload-sha256', 'a'.repeat(64));
    return reply.code(200).send();
  });
  app.get('/status/:taskId', async () => ({ state: 'received', upload: { sha256: 'b'.repeat(64) } }));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(() => app.close());
  return { url, requests };
}

function job(filePath: string, remoteUrl: string, confirmed: number[]): TransportJob {
  return {
    taskId: 'task_done',
    filePath,
    fileName: 'x.mkv',
    size: 10,
    sha256: 'c'.repeat(64),
    sessionName: null,
    autoProcess: false,
    remoteUrl,
    signal: new AbortController().signal,
    onRemoteUrl: () => undefined,
    onConfirmed: (bytes) => confirmed.push(bytes),
    onBytes: () => undefined,
  };
}

test('a tus upload the server already holds whole is compared at once: digest from HEAD, else from /status', async (t) => {
  const dir = await tempDir(t);
  const server = await completeTusServer(t);
  const settings = testSettings(dir, server.url);
  const http = new UploadHttpClient(settings);
  t.after(() => http.close());
  const tus = transportFor('tus', http, settings, undefined);
  const confirmed: number[] = [];
  const file = path.join(dir, 'ten.mkv');
  await writeFile(file, '0123456789');
  const ours = await sha256Of(file);

  const fromHead = await tus.upload(job(file, `${server.url}/files/with-digest`, confirmed));
  assert.deepEqual(fromHead, { sha256: ours, serverSha256: 'a'.repeat(64) });
  const fromStatus = await tus.upload(job(file, `${server.url}/files/without-digest`, confirmed));
  assert.deepEqual(fromStatus, { sha256: ours, serverSha256: 'b'.repeat(64) });

  assert.deepEqual(confirmed, [10, 10]);
  assert.deepEqual(server.requests, [
    'HEAD /files/with-digest',
    'HEAD /files/without-digest',
    'GET /status/task_done',
  ]);
});

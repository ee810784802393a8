import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FfmpegRecorder } from '../../src/recorder/index.js';
import { RecordingManager, probeRecording } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { UploadService, type UploadTask } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testSettings } from './upload-fixtures.js';

/**
 * Upload while recording, end to end: the real ffmpeg recorder in 1-second parts, the real
 * upload service and the real ingest server on loopback.
 */
async function station(t: TestContext, protocol: 'tus' | 'multipart', segmentSeconds = 1) {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const db = openDatabase(path.join(dir, 'data', 'streamai.db'), stationMigrations);
  const uploads = new UploadService({
    db,
    settings: testSettings(path.join(dir, 'data'), ingest.url, { protocol }),
  });
  uploads.start();
  const manager = new RecordingManager({
    recorder: new FfmpegRecorder({ source: 'testsrc', segmentSeconds }),
    db,
    recordingsPath: path.join(dir, 'recordings'),
    uploads,
    autoUpload: true,
  });
  await manager.start();
  t.after(async () => {
    await manager.close();
    await uploads.close();
    db.close();
  });
  return { ingest, uploads, manager, dir, db };
}

async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function remote(url: string, taskId: string): Promise<Record<string, unknown> | undefined> {
  const answer = await fetch(`${url}/status/${taskId}`);
  return answer.status === 200 ? ((await answer.json()) as Record<string, unknown>) : undefined;
}

for (const protocol of ['tus', 'multipart'] as const) {
  test(`${protocol}: parts reach the server while recording; after Stop one task, joined on the server, as long as its parts`, async (t) => {
    const { ingest, uploads, manager } = await station(t, protocol);
    const started = await manager.startRecording(`parts ${protocol}`);
    // Two parts on the server, and the task says so, while the recording goes on.
    const during = await until('two parts on the server', () => {
      const id = manager.getRecording(started.id)?.uploadTaskId;
      const task = id ? uploads.get(id) : undefined;
      return task?.parts && task.parts.uploaded >= 2 ? task : undefined;
    });
    assert.equal(manager.status().recording, true, 'still recording');
    assert.equal(during.parts?.total, null, 'the count is not known while recording');
    const serverDuring = await remote(ingest.url, during.id);
    assert.equal(serverDuring?.['state'], 'receiving');
    assert.ok((serverDuring?.['parts_received'] as number) >= 2);

    const stopped = await manager.stopRecording();
    assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
    assert.equal(stopped.uploadTaskId, during.id, 'one recording, one task');
    const done = await uploads.waitFor(during.id);
    assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
    assert.equal(done.verifiedBy, 'sha256');
    const total = done.parts?.total ?? 0;
    assert.ok(total >= 3);
    assert.deepEqual(done.parts, { total, uploaded: total, waiting: 0, waitingBytes: 0, mode: 'parts' });
    assert.equal(uploads.list(10).length, 1, 'one task for the recording, the joined file not sent again');
    assert.match(
      uploads.history(done.id).at(-1)?.message ?? '',
      new RegExp(`all ${total} parts on the server`),
    );

    // On the server: one task, its parts each verified, joined into the recording's file.
    const server = await remote(ingest.url, done.id);
    assert.equal(server?.['parts_expected'], total);
    assert.equal(server?.['parts_received'], total);
    assert.notEqual(server?.['state'], 'receiving');
    const folder = path.join(ingest.dataDir, done.id);
    const files = (await readdir(folder)).filter((f) => f.endsWith('.mkv'));
    assert.equal(files.length, 1, `one joined file: ${files.join(', ')}`);
    const joined = await probeRecording(path.join(folder, files[0] ?? ''));
    const local = await probeRecording(stopped.filePath ?? '');
    const fps = local.technical.video?.fps ?? 25;
    assert.ok(
      Math.abs(joined.duration - local.duration) <= 1 / fps + 0.01 * total,
      `${joined.duration} vs ${local.duration}`,
    );
    // session_metadata.json says whose digest the upload's is: the server's join of the parts.
    const metadataFile = path.join(path.dirname(stopped.filePath ?? ''), 'session_metadata.json');
    const entry = await until('the metadata written after completion', async () => {
      const metadata = JSON.parse(await readFile(metadataFile, 'utf8')) as {
        vultr_uploads: Array<{ task_id: string; sha256: string | null; sha256_of: string; parts?: number }>;
      };
      const found = metadata.vultr_uploads.find((u) => u.task_id === done.id);
      return found?.sha256 ? found : undefined;
    });
    assert.equal(entry.sha256_of, 'server_join');
    assert.equal(entry.parts, total);
    assert.equal(entry.sha256, done.sha256);
    // The server has it all: the local parts go, the recording stays.
    await until('local parts removed', async () =>
      (await readdir(path.dirname(stopped.filePath ?? ''))).includes('.segments') ? undefined : true,
    );
  });
}

test('a task view and history a CLI reads: parts on the server and the backlog', async (t) => {
  const { uploads, manager } = await station(t, 'tus');
  const started = await manager.startRecording('view');
  const task = await until<UploadTask>('a part task', () => {
    const id = manager.getRecording(started.id)?.uploadTaskId;
    const found = id ? uploads.get(id) : undefined;
    return found?.parts && found.parts.uploaded >= 1 ? found : undefined;
  });
  const { partsText } = await import('../../src/uploads/index.js');
  assert.match(
    partsText(task.parts ?? { total: null, uploaded: 0, waiting: 0, waitingBytes: 0, mode: 'parts' }),
    /parts? on the server so far/,
  );
  assert.equal(
    partsText({ total: 4, uploaded: 3, waiting: 1, waitingBytes: 2_000_000, mode: 'parts' }),
    '3 of 4 parts on the server, 1 waiting (1.9 MiB)',
  );
  assert.equal(
    partsText({ total: null, uploaded: 2, waiting: 0, waitingBytes: 0, mode: 'parts', open: 2 }),
    '2 parts on the server so far, part 3 on its way as it records',
  );
  await manager.stopRecording();
  const done = await uploads.waitFor(task.id);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
});

test('tus: the part being recorded is on the server before Stop; after Stop only its tail goes, and no part is sent twice', async (t) => {
  // Parts of 60 s and a recording of a few seconds: without streaming, all of it would wait for Stop.
  const { ingest, uploads, manager, db } = await station(t, 'tus', 60);
  const started = await manager.startRecording('open part');
  const taskId = await until(
    'the recording task',
    () => manager.getRecording(started.id)?.uploadTaskId ?? undefined,
  );
  const held = await until('bytes of the open part on the server', async () => {
    const row = db
      .prepare('SELECT open_part_url AS url FROM upload_task_recordings WHERE task_id = ?')
      .get(taskId) as { url: string | null } | undefined;
    if (!row?.url) return undefined;
    const head = await fetch(row.url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
    const offset = Number(head.headers.get('upload-offset'));
    return offset > 0 ? { offset, deferred: head.headers.get('upload-defer-length') } : undefined;
  });
  assert.equal(manager.status().recording, true, 'still recording');
  assert.equal(held.deferred, '1', 'sent before its length is known');
  assert.equal(uploads.get(taskId)?.parts?.uploaded, 0, 'no part is closed yet');
  assert.equal(uploads.get(taskId)?.parts?.open, 0, 'the view says part 1 is on its way');

  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  const done = await uploads.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.deepEqual(done.parts, { total: 1, uploaded: 1, waiting: 0, waitingBytes: 0, mode: 'parts' });
  const history = uploads.history(taskId).map((e) => e.message ?? '');
  assert.ok(history.includes('part 1: sending it while it is recorded'), history.join('\n'));
  assert.ok(!history.some((m) => /sent again/.test(m)), history.join('\n'));
  const server = await remote(ingest.url, taskId);
  assert.equal(server?.['parts_expected'], 1);
  assert.notEqual(server?.['state'], 'receiving');
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { open, readdir, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openDatabase, stationMigrations, type Db } from '../../src/store/index.js';
import { UploadService, type UploadSettings, type UploadTask } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { startLegacyServer } from './legacy-server.js';
import { makeBigClip, sha256Of, testSettings } from './upload-fixtures.js';

/**
 * Segmented recordings' uploads through the real upload service against real servers on
 * loopback, with closed parts made by ffmpeg: the crash windows and the fallback.
 */
const services = new Map<Db, UploadService[]>();

/** The station database; closed when the test ends, after every service on it. */
function stationDb(t: TestContext, dir: string): Db {
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  services.set(db, []);
  t.after(async () => {
    for (const uploads of services.get(db) ?? []) await uploads.close();
    db.close();
  });
  return db;
}

function service(db: Db, settings: UploadSettings): UploadService {
  const uploads = new UploadService({ db, settings });
  uploads.start();
  services.get(db)?.push(uploads);
  return uploads;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const opening = { recordingId: 'rec_1', sessionName: 'Parts', autoProcess: false, fileName: 'talk.mkv' };

test('a part the server stored but the station did not record (killed in between) is sent again and stored once', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const db = stationDb(t, dir);
  const settings = testSettings(dir, ingest.url, { protocol: 'multipart' });
  const [a, b] = [path.join(dir, 'part00000.mkv'), path.join(dir, 'part00001.mkv')];
  await makeClip(a, { seconds: 1, format: 'matroska' });
  await makeClip(b, { seconds: 1, format: 'matroska' });

  const first = service(db, settings);
  const taskId = await first.openRecordingUpload(opening);
  first.addRecordingPart(taskId, { index: 0, filePath: a });
  await until('part 0 on the server', () =>
    (first.get(taskId)?.parts?.uploaded ?? 0) >= 1 ? true : undefined,
  );
  await first.close();
  // The crash window: the server answered, the station's write of it was lost.
  db.prepare(`UPDATE upload_task_parts SET state = 'pending', sha256 = NULL WHERE task_id = ?`).run(taskId);

  const second = service(db, settings);
  assert.deepEqual(second.get(taskId)?.parts, {
    total: null,
    uploaded: 0,
    waiting: 1,
    waitingBytes: second.get(taskId)?.parts?.waitingBytes,
    mode: 'parts',
  });
  second.addRecordingPart(taskId, { index: 0, filePath: a }); // handed again after the restart: ignored
  second.addRecordingPart(taskId, { index: 1, filePath: b });
  second.closeRecordingUpload(taskId, { count: 2 });
  const done = await second.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.deepEqual(done.parts, { total: 2, uploaded: 2, waiting: 0, waitingBytes: 0, mode: 'parts' });
  const confirmedPart1 = second
    .history(taskId)
    .filter((e) => /^part 1( of \d+)? on the server/.test(e.message ?? ''));
  assert.equal(confirmedPart1.length, 2, 'part 1 (index 0) went to the server twice');

  const status = (await (await fetch(`${ingest.url}/status/${taskId}`)).json()) as {
    parts: Array<{ index: number; sha256: string }>;
    parts_received: number;
    state: string;
  };
  assert.deepEqual(
    status.parts.map((p) => p.index),
    [0, 1],
    'stored once each',
  );
  assert.equal(status.parts[0]?.sha256, await sha256Of(a));
  assert.notEqual(status.state, 'receiving');
  const files = (await readdir(path.join(ingest.dataDir, taskId))).filter((f) => f.endsWith('.mkv'));
  assert.deepEqual(files, ['talk.mkv'], 'one joined recording');
});

test('a resumed one-pass tus part still has its digest checked: a prefix changed locally after the resume point fails it, nothing kept; retry sends it whole', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const db = stationDb(t, dir);
  const part = await makeBigClip(path.join(dir, 'part00000.mkv'), 3 * 1024 * 1024);
  const slow = testSettings(dir, ingest.url, {
    protocol: 'tus',
    chunkSizeBytes: 256 * 1024,
    maxRateBytesPerSecond: 1024 * 1024,
  });
  const first = service(db, slow);
  const taskId = await first.openRecordingUpload(opening);
  first.addRecordingPart(taskId, { index: 0, filePath: part });
  await until('a prefix on the server', () =>
    (first.get(taskId)?.bytesSent ?? 0) >= 512 * 1024 ? true : undefined,
  );
  await first.close();
  const row = db.prepare('SELECT remote_url FROM upload_task_parts WHERE task_id = ?').get(taskId) as {
    remote_url: string;
  };
  assert.ok(row.remote_url, 'the part upload is resumable');
  const offset = await fetch(row.remote_url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
  const held = Number(offset.headers.get('upload-offset'));
  assert.ok(held > 1000 && held < 3 * 1024 * 1024, `the server holds a prefix (${held} bytes)`);
  // A byte of the part's prefix the server already holds changes locally, size and mtime kept:
  // the resumed upload declares a digest over the local bytes, which the server must refuse.
  const before = await stat(part);
  const handle = await open(part, 'r+');
  const byte = Buffer.alloc(1);
  await handle.read(byte, 0, 1, 1000);
  await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 1000);
  await handle.close();
  await utimes(part, before.atime, before.mtime);
  // utimes keeps microseconds, the station compares the exact mtime it recorded: record this one.
  const now = await stat(part);
  db.prepare('UPDATE upload_task_parts SET file_mtime_ms = ? WHERE task_id = ?').run(now.mtimeMs, taskId);

  const second = service(db, testSettings(dir, ingest.url, { protocol: 'tus', chunkSizeBytes: 256 * 1024 }));
  // The count is not known yet (still recording): the task idles once the part is on the server.
  const failed = await until('the part refused', () => {
    const task = second.get(taskId);
    return task?.state === 'failed' || (task?.parts?.uploaded ?? 0) > 0 ? task : undefined;
  });
  assert.equal(failed.state, 'failed', JSON.stringify(second.history(taskId)));
  assert.equal(failed.lastError?.code, 'CHECKSUM_MISMATCH');
  assert.ok(
    second.history(taskId).some((e) => /^part 1: resuming http/.test(e.message ?? '')),
    'the part resumed where the server stood',
  );
  const partStatus = await fetch(`${ingest.url}/status/${taskId}.part-0`);
  const partBody = partStatus.status === 200 ? ((await partStatus.json()) as { state: string }) : undefined;
  assert.notEqual(partBody?.state, 'received', 'nothing kept as complete');

  second.retry(taskId);
  await until('part 0 on the server', () =>
    (second.get(taskId)?.parts?.uploaded ?? 0) >= 1 ? true : undefined,
  );
  const confirmed = (await (await fetch(`${ingest.url}/status/${taskId}.part-0`)).json()) as {
    upload: { sha256: string };
  };
  assert.equal(confirmed.upload.sha256, await sha256Of(part));
});

test('a server of the original kind (no parts) gets the joined recording after Stop, as one ordinary upload', async (t) => {
  const dir = await tempDir(t);
  const legacy = await startLegacyServer(t);
  const db = stationDb(t, dir);
  const uploads = service(db, testSettings(dir, legacy.url));
  const part = path.join(dir, 'part00000.mkv');
  await makeClip(part, { seconds: 1, format: 'matroska' });
  const joined = path.join(dir, 'talk.mkv');
  await makeClip(joined, { seconds: 1, format: 'matroska' });
  const taskId = await uploads.openRecordingUpload(opening);
  uploads.addRecordingPart(taskId, { index: 0, filePath: part });
  const waiting = await until<UploadTask>('the fallback decided', () => {
    const task = uploads.get(taskId);
    return task?.parts?.mode === 'joined' ? task : undefined;
  });
  assert.notEqual(waiting.state, 'completed');
  assert.equal(legacy.uploads.length, 0, 'no part went to a server that cannot join them');
  uploads.closeRecordingUpload(taskId, { count: 1 });
  uploads.closeRecordingUpload(taskId, { count: 1, joinedFilePath: joined });
  const done = await uploads.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.equal(legacy.uploads.length, 1);
  assert.equal(legacy.uploads[0]?.fields['task_id'], taskId);
  assert.equal(legacy.uploads[0]?.fields['segment_index'], undefined);
  assert.equal(legacy.uploads[0]?.file.sha256, await sha256Of(joined));
  assert.equal(done.fileName, 'talk.mkv');
});

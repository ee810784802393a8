import { createHash } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase, stationMigrations, type Db } from '../../src/store/index.js';
import { UploadService, type UploadSettings } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { eventually } from '../helpers/station.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testSettings } from './upload-fixtures.js';

/**
 * The part a recording is writing is sent while it grows (tus, deferred length), through the
 * real upload service to a real ingest server. The recorder's growing part is played by the
 * test: the bytes of a real MPEG-TS clip appended to the part file in steps (MPEG-TS is
 * written append-only, which is what the recorder promises with `segment-open`).
 */
const sha256Of = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const opening = { recordingId: 'rec_g', sessionName: 'Growing', autoProcess: false, fileName: 'talk.mkv' };

function stationDb(t: TestContext, dir: string): Db {
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  t.after(() => db.close());
  return db;
}

function service(t: TestContext, db: Db, settings: UploadSettings): UploadService {
  const uploads = new UploadService({ db, settings });
  uploads.start();
  t.after(() => uploads.close());
  return uploads;
}

/** Polls until `probe` gives a value (the helpers' `eventually`, at a faster pace). */
const until = <T>(what: string, probe: () => T | undefined | Promise<T | undefined>): Promise<T> =>
  eventually(async () => probe(), 30_000, what);

/** A real ingest server and an upload service sending tus in small PATCHes (several per part). */
async function station(t: TestContext) {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const db = stationDb(t, dir);
  const uploads = service(
    t,
    db,
    testSettings(dir, ingest.url, { protocol: 'tus', chunkSizeBytes: 64 * 1024 }),
  );
  return { dir, ingest, db, uploads };
}

/** The tus upload of the part being written, as the station keeps it (station v11). */
function openPartOf(db: Db, taskId: string): { index: number | null; url: string | null } {
  const row = db
    .prepare('SELECT open_part_index AS i, open_part_url AS u FROM upload_task_recordings WHERE task_id = ?')
    .get(taskId) as { i: number | null; u: string | null };
  return { index: row.i, url: row.u };
}

/** What the server holds of a tus upload (HEAD). */
async function serverOffset(url: string): Promise<{ offset: number; deferred: boolean }> {
  const res = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
  return {
    offset: Number(res.headers.get('upload-offset')),
    deferred: res.headers.get('upload-defer-length') === '1',
  };
}

test('the part being written is on the server while it grows; once closed only its tail goes, the count rides on its last PATCH, and the recording is joined', async (t) => {
  const { dir, ingest, db, uploads } = await station(t);
  const clips = [
    await readFile(await makeClip(path.join(dir, 'a.ts'), { seconds: 2, format: 'mpegts' })),
    await readFile(await makeClip(path.join(dir, 'b.ts'), { seconds: 2, format: 'mpegts' })),
  ] as const;
  const parts = [path.join(dir, 'part00000.ts'), path.join(dir, 'part00001.ts')];
  const taskId = await uploads.openRecordingUpload(opening);

  for (const [index, clip] of clips.entries()) {
    const file = parts[index] as string;
    const head = Math.floor(clip.length * 0.7);
    await writeFile(file, clip.subarray(0, head));
    uploads.growRecordingPart(taskId, { index, filePath: file });
    // While the part is still open (not handed as closed), the server receives its bytes.
    const url = await until('the open part upload', () => openPartOf(db, taskId).url ?? undefined);
    const held = await until('the open part on the server', async () => {
      const where = await serverOffset(url);
      return where.offset === head ? where : undefined;
    });
    assert.equal(held.deferred, true, 'created without a length: it is still being written');
    await appendFile(file, clip.subarray(head));
    if (index === 0) uploads.growRecordingPart(taskId, { index: 1, filePath: parts[1] as string });
    uploads.addRecordingPart(taskId, { index, filePath: file });
    if (index === 1) uploads.closeRecordingUpload(taskId, { count: 2 });
    if (index === 0) {
      await until('part 1 on the server', () =>
        (uploads.get(taskId)?.parts?.uploaded ?? 0) >= 1 ? true : undefined,
      );
    }
  }

  const done = await uploads.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.deepEqual(done.parts, { total: 2, uploaded: 2, waiting: 0, waitingBytes: 0, mode: 'parts' });
  const history = uploads.history(taskId).map((e) => e.message ?? '');
  assert.ok(
    history.some((m) => /^part 2 of 2 on the server/.test(m)),
    history.join('\n'),
  );
  assert.ok(!history.some((m) => /sent again with the part count/.test(m)), 'no part went twice');
  const status = (await (await fetch(`${ingest.url}/status/${taskId}`)).json()) as {
    state: string;
    parts: Array<{ index: number; sha256: string; size: number }>;
    parts_expected: number;
  };
  assert.notEqual(status.state, 'receiving');
  assert.equal(status.parts_expected, 2);
  assert.deepEqual(
    status.parts.map((p) => [p.index, p.sha256, p.size]),
    [
      [0, sha256Of(clips[0]), clips[0].length],
      [1, sha256Of(clips[1]), clips[1].length],
    ],
  );
  assert.deepEqual(openPartOf(db, taskId), { index: null, url: null });
});

test('a station stopped while a part is sent as it grows resumes that upload from the server offset after the restart', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const db = stationDb(t, dir);
  const settings = testSettings(dir, ingest.url, { protocol: 'tus', chunkSizeBytes: 64 * 1024 });
  const clip = await readFile(await makeClip(path.join(dir, 'a.ts'), { seconds: 2, format: 'mpegts' }));
  const file = path.join(dir, 'part00000.ts');
  const head = Math.floor(clip.length / 2);
  await writeFile(file, clip.subarray(0, head));

  const first = new UploadService({ db, settings });
  first.start();
  const taskId = await first.openRecordingUpload(opening);
  first.growRecordingPart(taskId, { index: 0, filePath: file });
  const url = await until('the open part upload', () => openPartOf(db, taskId).url ?? undefined);
  await until('half the part on the server', async () =>
    (await serverOffset(url)).offset === head ? true : undefined,
  );
  await first.close();

  // The recorder died with the station: the part on disk is what it wrote (here, all of it).
  await appendFile(file, clip.subarray(head));
  const second = service(t, db, settings);
  second.addRecordingPart(taskId, { index: 0, filePath: file });
  second.closeRecordingUpload(taskId, { count: 1 });
  const done = await second.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  const history = second.history(taskId).map((e) => e.message ?? '');
  assert.ok(
    history.some((m) => m === `part 1: resuming ${url}`),
    history.join('\n'),
  );
  assert.ok(!history.some((m) => /sent again with the part count/.test(m)), history.join('\n'));
  const status = (await (await fetch(`${ingest.url}/status/${taskId}.part-0`)).json()) as {
    upload: { sha256: string; file_size: number };
  };
  assert.equal(status.upload.sha256, sha256Of(clip));
  assert.equal(status.upload.file_size, clip.length);
  assert.deepEqual(openPartOf(db, taskId), { index: null, url: null }, 'no part is on its way any more');
  assert.equal(second.get(taskId)?.parts?.open, undefined);
});

test('a part the recorder died with before closing it is dropped: the recording completes with the parts it has and the part upload is freed', async (t) => {
  const { dir, db, uploads } = await station(t);
  const clip = await readFile(await makeClip(path.join(dir, 'a.ts'), { seconds: 2, format: 'mpegts' }));
  const [first, cut] = [path.join(dir, 'part00000.ts'), path.join(dir, 'part00001.ts')];
  await writeFile(first, clip);
  await writeFile(cut, clip.subarray(0, 4096));
  const taskId = await uploads.openRecordingUpload(opening);
  uploads.growRecordingPart(taskId, { index: 0, filePath: first });
  uploads.growRecordingPart(taskId, { index: 1, filePath: cut });
  uploads.addRecordingPart(taskId, { index: 0, filePath: first });
  const url = await until('the cut part on its way', async () => {
    const open = openPartOf(db, taskId);
    return open.index === 1 && open.url && (await serverOffset(open.url)).offset === 4096
      ? open.url
      : undefined;
  });
  // The recorder died: the recording has one part (the cut one is not in it).
  uploads.closeRecordingUpload(taskId, { count: 1 });
  const done = await uploads.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.deepEqual(done.parts, { total: 1, uploaded: 1, waiting: 0, waitingBytes: 0, mode: 'parts' });
  const history = uploads.history(taskId).map((e) => e.message ?? '');
  assert.ok(
    history.some((m) => /part 2 was cut off by the recorder/.test(m)),
    history.join('\n'),
  );
  const head = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
  assert.ok(head.status === 404 || head.status === 410, `the dropped upload is freed (${head.status})`);
});

test('cancel while the part being recorded is on its way deletes that partial upload on the server; retry sends the part afresh and completes', async (t) => {
  const { dir, db, uploads } = await station(t);
  const clip = await readFile(await makeClip(path.join(dir, 'a.ts'), { seconds: 2, format: 'mpegts' }));
  const file = path.join(dir, 'part00000.ts');
  const head = Math.floor(clip.length / 2);
  await writeFile(file, clip.subarray(0, head));
  const taskId = await uploads.openRecordingUpload(opening);
  uploads.growRecordingPart(taskId, { index: 0, filePath: file });
  const url = await until('the open part on the server', async () => {
    const open = openPartOf(db, taskId).url;
    return open && (await serverOffset(open)).offset === head ? open : undefined;
  });
  uploads.cancel(taskId);
  assert.equal(uploads.get(taskId)?.state, 'cancelled');
  const history = uploads.history(taskId).map((e) => e.message ?? '');
  assert.ok(
    history.includes('cancelled by user; its partial upload is deleted from the server'),
    history.join('\n'),
  );
  await until('the partial upload deleted', async () => {
    const answer = await fetch(url, { method: 'HEAD', headers: { 'tus-resumable': '1.0.0' } });
    return answer.status === 404 || answer.status === 410 ? true : undefined;
  });
  await appendFile(file, clip.subarray(head));
  uploads.addRecordingPart(taskId, { index: 0, filePath: file });
  uploads.closeRecordingUpload(taskId, { count: 1 });
  uploads.retry(taskId);
  const done = await uploads.waitFor(taskId);
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.ok(
    !uploads.history(taskId).some((e) => /dropped/.test(e.message ?? '')),
    'no "dropped" after a cancel',
  );
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.js';
import { isAppError } from '../../src/errors/index.js';
import { FfmpegRecorder } from '../../src/recorder/index.js';
import {
  METADATA_FILE,
  probeRecording,
  RecordingManager,
  sha256File,
  type RecordingUploadEvent,
  type RecordingView,
  type SessionMetadata,
  type UploadQueue,
} from '../../src/sessions/index.js';
import { openDatabase, stationMigrations, type Db } from '../../src/store/index.js';
import { UploadService, uploadSettingsFromConfig } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

interface Station {
  dir: string;
  recordingsPath: string;
  db: Db;
  manager: RecordingManager;
  uploads: UploadService | undefined;
}

/** A station on disk: database, recordings folder, ffmpeg recorder, and (optionally) the real upload service. */
async function station(
  t: TestContext,
  options: { apiUrl?: string; autoUpload?: boolean; dir?: string; source?: string } = {},
): Promise<Station> {
  const dir = options.dir ?? (await tempDir(t));
  const recordingsPath = path.join(dir, 'recordings');
  const db = openDatabase(path.join(dir, 'data', 'streamai.db'), stationMigrations);
  let uploads: UploadService | undefined;
  if (options.apiUrl) {
    const config = loadConfig({
      env: { VULTR_API_URL: options.apiUrl, STREAMAI_DATA_DIR: path.join(dir, 'data') },
      envFile: false,
    });
    uploads = new UploadService({
      db,
      settings: { ...uploadSettingsFromConfig(config), growthCheckMs: 100 },
    });
    uploads.start();
  }
  const queue: UploadQueue | undefined = uploads; // the real service fits the manager's seam
  const manager = new RecordingManager({
    recorder: new FfmpegRecorder({ source: options.source ?? 'testsrc' }),
    db,
    recordingsPath,
    uploads: queue,
    autoUpload: options.autoUpload ?? false,
  });
  await manager.start();
  t.after(async () => {
    await manager.close();
    await uploads?.close();
    db.close();
  });
  return { dir, recordingsPath, db, manager, uploads };
}

async function readMetadata(folder: string): Promise<SessionMetadata> {
  return JSON.parse(await readFile(path.join(folder, METADATA_FILE), 'utf8')) as SessionMetadata;
}

/** Resolves with the first upload event matching `state`, or rejects after `ms`. */
function uploadReaches(manager: RecordingManager, state: string, ms = 60_000): Promise<RecordingUploadEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      manager.off('upload', onUpload);
      reject(new Error(`upload did not reach ${state} within ${ms} ms`));
    }, ms);
    const onUpload = (event: RecordingUploadEvent) => {
      if (event.state !== state && !(state === 'completed' && event.state === 'failed')) return;
      clearTimeout(timer);
      manager.off('upload', onUpload);
      resolve(event);
    };
    manager.on('upload', onUpload);
  });
}

test('a 3-second ffmpeg recording is validated, measured, thumbnailed, and auto-uploaded to a real ingest server', async (t) => {
  const ingest = await startIngestServer(t);
  const { manager, recordingsPath } = await station(t, { apiUrl: ingest.url, autoUpload: true });
  const name = 'Réunion d’équipe 2026';

  const started = await manager.startRecording(name);
  assert.equal(started.state, 'recording');
  const status = manager.status();
  assert.equal(status.recording, true);
  assert.equal(status.session?.name, name);
  assert.equal(status.recorder.kind, 'ffmpeg');
  const whileRecording = await readMetadata(path.join(recordingsPath, name));
  assert.equal(whileRecording.status, 'recording');

  await sleep(3000);
  const uploaded = uploadReaches(manager, 'completed');
  const stopped = await manager.stopRecording();
  const ranSeconds = (Date.now() - Date.parse(started.startedAt)) / 1000;
  assert.equal(manager.status().recording, false);
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  // Measured from the file: more than nothing, no longer than it ran (never a wall-clock tolerance).
  assert.ok(
    stopped.duration !== null && stopped.duration > 0 && stopped.duration <= ranSeconds + 0.5,
    `duration ${stopped.duration} after ${ranSeconds} s`,
  );
  assert.equal(stopped.duration, (await probeRecording(stopped.filePath ?? '')).duration);
  assert.equal(path.dirname(stopped.filePath ?? ''), path.join(recordingsPath, name));
  assert.equal(stopped.size, (await stat(stopped.filePath ?? '')).size);
  assert.equal(stopped.sha256, await sha256File(stopped.filePath ?? ''));
  const jpeg = await readFile(stopped.thumbnailPath ?? '');
  assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8], 'thumbnail is a JPEG');

  const done = await uploaded;
  assert.equal(done.state, 'completed', JSON.stringify(done.error));
  assert.equal(done.recordingId, stopped.id);
  // The server holds it under the same task id.
  const remote = (await (await fetch(`${ingest.url}/status/${done.taskId}`)).json()) as { task_id: string };
  assert.equal(remote.task_id, done.taskId);

  // Metadata writes for the last upload state may still be on their way: wait for them.
  let metadata = await readMetadata(path.join(recordingsPath, name));
  for (let i = 0; i < 50 && !metadata.auto_upload_completed; i += 1) {
    await sleep(100);
    metadata = await readMetadata(path.join(recordingsPath, name));
  }
  assert.equal(metadata.id, stopped.sessionId);
  assert.equal(metadata.title, name);
  assert.equal(metadata.status, 'uploaded');
  assert.equal(metadata.auto_upload_completed, true);
  assert.deepEqual(metadata.platforms, ['FFmpeg Recording', 'Vultr Processing']);
  assert.equal(metadata.size, stopped.size);
  assert.equal(metadata.duration, stopped.duration);
  assert.equal(metadata.vultr_uploads.length, 1);
  assert.equal(metadata.vultr_uploads[0]?.task_id, done.taskId);
  assert.equal(metadata.vultr_uploads[0]?.file_name, stopped.fileName);
  assert.equal(metadata.vultr_uploads[0]?.file_size, stopped.size);
  assert.equal(metadata.vultr_uploads[0]?.state, 'completed');
  assert.equal(metadata.vultr_uploads[0]?.sha256, stopped.sha256);
  assert.equal(metadata.recordings[0]?.sha256, stopped.sha256);
  assert.equal(metadata.recordings[0]?.thumbnail, path.basename(stopped.thumbnailPath ?? ''));
  assert.equal((metadata.technical as { recorder?: string }).recorder, 'ffmpeg');
  // Only the finished files: no temporary metadata left behind.
  const files = (await readdir(path.join(recordingsPath, name))).sort();
  assert.deepEqual(
    files,
    [stopped.fileName, path.basename(stopped.thumbnailPath ?? ''), METADATA_FILE].sort(),
  );
});

test('without auto-upload nothing is sent, and an on-demand upload returns a task id and completes', async (t) => {
  const ingest = await startIngestServer(t);
  const { manager, uploads } = await station(t, { apiUrl: ingest.url, autoUpload: false });
  await manager.startRecording('on demand');
  await sleep(1000);
  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready');
  assert.equal(stopped.uploadTaskId, null);
  assert.equal(uploads?.list().length, 0);

  const uploaded = uploadReaches(manager, 'completed');
  const taskId = await manager.upload(stopped.id, { autoProcess: false });
  assert.match(taskId, /^task_/);
  assert.equal((await uploaded).state, 'completed');
  assert.equal(manager.getRecording(stopped.id)?.uploadState, 'completed');
  assert.equal(uploads?.get(taskId)?.autoProcess, false);

  // A second upload adds an entry to vultr_uploads; the first stays, in the original's time form.
  const again = uploadReaches(manager, 'completed');
  const secondId = await manager.upload(stopped.id, { autoProcess: false });
  assert.equal((await again).taskId, secondId);
  await manager.whenMetadataWritten(stopped.sessionId);
  const metadata = await readMetadata(path.dirname(stopped.filePath ?? ''));
  assert.deepEqual(
    metadata.vultr_uploads.map((u) => [u.task_id, u.state]),
    [
      [taskId, 'completed'],
      [secondId, 'completed'],
    ],
  );
  for (const u of metadata.vultr_uploads)
    assert.match(u.upload_time, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
});

test('starting while recording and stopping while idle are clear errors, and the session survives them', async (t) => {
  const { manager } = await station(t);
  await assert.rejects(manager.stopRecording(), (e) => isAppError(e) && e.code === 'NOT_RECORDING');
  await manager.startRecording('first');
  await assert.rejects(
    manager.startRecording('second'),
    (e) => isAppError(e) && e.code === 'ALREADY_RECORDING' && /first/.test(e.message),
  );
  assert.equal(manager.status().session?.name, 'first');
  await sleep(500);
  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready');
  await assert.rejects(manager.stopRecording(), (e) => isAppError(e) && e.code === 'NOT_RECORDING');
  assert.deepEqual(
    manager.listSessions().map((s) => s.name),
    ['first'],
  );
});

test('session ids are stored and stay the same across restarts', async (t) => {
  const dir = await tempDir(t);
  const first = await station(t, { dir });
  await first.manager.startRecording('weekly sync');
  await sleep(500);
  const a = await first.manager.stopRecording();
  await first.manager.close();
  first.db.close();

  const second = await station(t, { dir });
  const sessions = second.manager.listSessions();
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0]?.id, a.sessionId);
  assert.equal(second.manager.getRecording(a.id)?.state, 'ready');
  await second.manager.startRecording('weekly sync');
  await sleep(500);
  const b = await second.manager.stopRecording();
  assert.equal(b.sessionId, a.sessionId, 'same session, same id');
  assert.notEqual(b.id, a.id);
  const metadata = await readMetadata(path.join(second.recordingsPath, 'weekly sync'));
  assert.equal(metadata.id, a.sessionId);
  assert.equal(metadata.recordings.length, 2);
  assert.ok(Math.abs(metadata.duration - ((a.duration ?? 0) + (b.duration ?? 0))) < 0.01);
});

test('hostile session names are refused and nothing is written outside RECORDINGS_PATH', async (t) => {
  const { manager, dir, recordingsPath } = await station(t);
  const before = (await readdir(dir)).sort();
  for (const name of [
    '../evil',
    '..',
    'a/b',
    'a\\b',
    '.hidden',
    'x\u0000y',
    '   ',
    'tab\there',
    'x'.repeat(201),
  ]) {
    await assert.rejects(
      manager.startRecording(name),
      (e) => isAppError(e) && e.code === 'INVALID_NAME',
      `should refuse ${JSON.stringify(name)}`,
    );
  }
  assert.deepEqual((await readdir(dir)).sort(), before);
  assert.deepEqual(await readdir(recordingsPath), []);
  assert.equal(manager.status().state, 'idle');
});

test('names with spaces and accents keep them, and one name typed two ways is one session', async (t) => {
  const { manager, recordingsPath } = await station(t);
  const composed = 'Café  crème — 日本語';
  const decomposed = 'Cafe\u0301  cre\u0300me — 日本語';
  await manager.startRecording(decomposed);
  await sleep(300);
  await manager.stopRecording();
  assert.deepEqual(await readdir(recordingsPath), [composed]);
  assert.equal(manager.listSessions()[0]?.name, composed);
  assert.equal((await readMetadata(path.join(recordingsPath, composed))).title, composed);
});

test('a live source that ends by itself still yields a finalised recording and an idle manager', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip(path.join(dir, 'camera feed.mkv'), { seconds: 1, format: 'matroska' });
  const { manager } = await station(t, { dir, source: `url:${input}` });
  const ready = new Promise<RecordingView>((resolve) => {
    manager.on('recording', (r) => {
      if (r.state === 'ready' || r.state === 'failed') resolve(r);
    });
  });
  await manager.startRecording('self-stopping');
  const recording = await ready;
  assert.equal(recording.state, 'ready', JSON.stringify(recording.error));
  assert.equal(recording.external, true, 'stopped by the source, not by StreamAI');
  const source = await probeRecording(input);
  assert.ok(
    recording.duration !== null && Math.abs(recording.duration - source.duration) <= 0.05,
    `${recording.duration} s of ${source.duration} s`,
  );
  assert.equal(manager.status().state, 'idle');
  await assert.rejects(manager.stopRecording(), (e) => isAppError(e) && e.code === 'NOT_RECORDING');
});

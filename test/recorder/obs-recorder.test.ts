import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OBSWebSocket } from 'obs-websocket-js';
import { loadConfig } from '../../src/config/index.js';
import { isAppError } from '../../src/errors/index.js';
import { processorFromConfig } from '../../src/processing/index.js';
import { ObsRecorder, type RecorderStatus } from '../../src/recorder/index.js';
import {
  METADATA_FILE,
  RecordingManager,
  probeRecording,
  type RecordingUploadEvent,
  type RecordingView,
  type SessionMetadata,
} from '../../src/sessions/index.js';
import { openDatabase, stationMigrations, type Db } from '../../src/store/index.js';
import { UploadService, uploadSettingsFromConfig } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { startObsStudio, type ObsStudio } from '../helpers/obs-studio.js';
import { tempDir } from '../helpers/temp-dir.js';

/** Waits (bounded) for an event whose payload satisfies `match`. */
function waitFor<T>(
  emitter: { on(e: string, l: (v: T) => void): unknown; off(e: string, l: (v: T) => void): unknown },
  event: string,
  match: (value: T) => boolean,
  ms = 30_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no matching "${event}" event within ${ms} ms`));
    }, ms);
    const listener = (value: T) => {
      if (!match(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}

async function obsStation(
  t: TestContext,
  obs: ObsStudio,
  options: { password?: string; apiUrl?: string; dir?: string; segmentSeconds?: number } = {},
): Promise<{
  db: Db;
  manager: RecordingManager;
  recorder: ObsRecorder;
  recordingsPath: string;
  uploads?: UploadService;
}> {
  const dir = options.dir ?? (await tempDir(t));
  const recordingsPath = path.join(dir, 'recordings');
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  let uploads: UploadService | undefined;
  if (options.apiUrl) {
    const config = loadConfig({
      env: { VULTR_API_URL: options.apiUrl, STREAMAI_DATA_DIR: dir },
      envFile: false,
    });
    uploads = new UploadService({
      db,
      settings: { ...uploadSettingsFromConfig(config), growthCheckMs: 100 },
    });
    uploads.start();
  }
  const recorder = new ObsRecorder({
    host: obs.host,
    port: obs.port,
    password: options.password ?? obs.password,
    reconnectInitialMs: 200,
    reconnectMaxMs: 1000,
    requestTimeoutMs: 5000,
    stopTimeoutMs: 15_000,
    ...(options.segmentSeconds !== undefined ? { segmentSeconds: options.segmentSeconds } : {}),
  });
  const manager = new RecordingManager({
    recorder,
    db,
    recordingsPath,
    uploads,
    autoUpload: uploads !== undefined,
  });
  t.after(async () => {
    await manager.close();
    await uploads?.close();
    if (db.open) db.close();
  });
  await manager.start();
  return { db, manager, recorder, recordingsPath, ...(uploads ? { uploads } : {}) };
}

async function readMetadata(folder: string): Promise<SessionMetadata> {
  return JSON.parse(await readFile(path.join(folder, METADATA_FILE), 'utf8')) as SessionMetadata;
}

test("OBS: a session started and stopped through the manager gets OBS's complete file, moved into the session folder", async (t) => {
  const obs = await startObsStudio(t);
  // Segments asked for, but OBS 29 in Simple output mode cannot split: one file, as without them.
  const { manager, recordingsPath } = await obsStation(t, obs, { segmentSeconds: 60 });
  assert.equal(manager.status().recorder.connected, true);
  assert.match(manager.status().recorder.version ?? '', /OBS 29|OBS 3/);

  const name = 'Démo OBS — salle 2';
  const started = await manager.startRecording(name);
  assert.equal(started.state, 'recording');
  assert.ok(started.sourcePath?.startsWith(obs.recordDir), 'OBS reported where it writes');
  const segmentation = manager.status().recorder.segmentation;
  assert.equal(segmentation?.mode, 'one-file');
  assert.match(segmentation?.reason ?? '', /Advanced output mode/);
  // OBS itself answers a second StartRecord with success; the manager must refuse it.
  await assert.rejects(manager.startRecording(name), (e) => isAppError(e) && e.code === 'ALREADY_RECORDING');

  await sleep(2500);
  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  assert.equal(path.dirname(stopped.filePath ?? ''), path.join(recordingsPath, name));
  assert.match(
    stopped.fileName ?? '',
    /^\d{4}-\d\d-\d\d \d\d-\d\d-\d\d\.mkv$/,
    'OBS file name, spaces and all',
  );
  assert.deepEqual(await readdir(obs.recordDir), [], 'moved, not copied');
  const probe = await probeRecording(stopped.filePath ?? '');
  assert.equal(probe.technical.video?.codec, 'h264');
  // More than nothing and no longer than it ran: a busy machine records fewer seconds, not a bug.
  const ranSeconds = (Date.now() - Date.parse(started.startedAt)) / 1000;
  assert.ok(
    probe.duration > 0 && probe.duration <= ranSeconds + 1,
    `duration ${probe.duration} of ${ranSeconds} s`,
  );
  assert.equal(stopped.size, (await stat(stopped.filePath ?? '')).size);

  const metadata = await readMetadata(path.join(recordingsPath, name));
  assert.deepEqual(metadata.platforms, ['OBS Recording']);
  assert.equal(metadata.status, 'recorded');
  assert.equal(metadata.recordings[0]?.external, false);
  await assert.rejects(manager.stopRecording(), (e) => isAppError(e) && e.code === 'NOT_RECORDING');
});

test('OBS: a recording started and stopped by another client becomes a session, is auto-uploaded and processed', async (t) => {
  const obs = await startObsStudio(t);
  // The real processing pipeline on the server: an OBS recording processed end to end (issue 6).
  const ingest = await startIngestServer(t, {
    createProcessor: processorFromConfig(loadConfig({ env: {}, envFile: false })),
  });
  const { manager } = await obsStation(t, obs, { apiUrl: ingest.url });

  const other = new OBSWebSocket();
  await other.connect(obs.url, obs.password);
  t.after(() => other.disconnect());

  const recordingStarted = waitFor<RecordingView>(manager, 'recording', (r) => r.state === 'recording');
  await other.call('StartRecord');
  const started = await recordingStarted;
  assert.equal(started.external, true);
  assert.match(started.sessionName, /^OBS \d{4}-\d\d-\d\d \d\d-\d\d-\d\d$/);
  assert.equal(manager.status().recording, true);

  await sleep(1500);
  const ready = waitFor<RecordingView>(
    manager,
    'recording',
    (r) => r.state === 'ready' || r.state === 'failed',
  );
  const uploaded = waitFor<RecordingUploadEvent>(
    manager,
    'upload',
    (u) => u.state === 'completed' || u.state === 'failed',
    60_000,
  );
  await other.call('StopRecord');
  const recording = await ready;
  assert.equal(recording.state, 'ready', JSON.stringify(recording.error));
  assert.equal(recording.id, started.id);
  assert.equal(manager.status().recording, false);
  const upload = await uploaded;
  assert.equal(upload.state, 'completed', JSON.stringify(upload.error));
  assert.equal(upload.recordingId, recording.id);

  const deadline = Date.now() + 90_000;
  let status: {
    state: string;
    processing: { report: Record<string, unknown> | null; outputs: Array<{ name: string }> };
  };
  for (;;) {
    status = (await (await fetch(`${ingest.url}/status/${upload.taskId}`)).json()) as typeof status;
    if (status.state === 'done' || status.state === 'failed' || Date.now() > deadline) break;
    await sleep(500);
  }
  assert.equal(status.state, 'done', JSON.stringify(status));
  const report = status.processing.report ?? {};
  assert.ok(
    Math.abs(Number(report.original_duration) - Number(recording.duration)) < 0.5,
    JSON.stringify(report),
  );
  const outputs = status.processing.outputs.map((o) => o.name);
  for (const name of ['thumbnail.jpg', 'contact-sheet.jpg', 'web.mp4'])
    assert.ok(outputs.includes(name), name);
});

test("OBS: killed mid-session and restarted, the session is kept and OBS's file is attached", async (t) => {
  const obs = await startObsStudio(t);
  const { manager } = await obsStation(t, obs);
  const started = await manager.startRecording('crash test');
  await sleep(2000);

  const lost = waitFor<RecorderStatus>(manager.recorder, 'status', (s) => !s.connected);
  await obs.kill();
  const status = await lost;
  assert.equal(status.lastError?.code, 'OBS_UNREACHABLE');
  assert.equal(manager.status().recording, true, 'the session is not dropped while OBS is away');
  assert.equal(manager.status().recorder.reconnecting, true);
  await assert.rejects(
    manager.startRecording('another'),
    (e) => isAppError(e) && e.code === 'ALREADY_RECORDING',
  );

  const attached = waitFor<RecordingView>(
    manager,
    'recording',
    (r) => r.id === started.id && r.state !== 'recording' && r.state !== 'finalizing',
  );
  await obs.restart();
  const recording = await attached;
  assert.equal(recording.state, 'ready', JSON.stringify(recording.error));
  assert.equal(recording.technical?.['interrupted'], true);
  assert.ok((recording.duration ?? 0) > 0.5, `duration ${recording.duration}`);
  assert.equal(manager.status().recorder.connected, true);
  assert.equal(manager.status().recording, false);

  // And recording works again afterwards.
  await manager.startRecording('crash test');
  await sleep(1000);
  const again = await manager.stopRecording();
  assert.equal(again.state, 'ready');
  assert.equal(again.sessionId, started.sessionId);
});

test('OBS: a wrong password is reported as OBS_AUTH_FAILED, not as a hang', async (t) => {
  const obs = await startObsStudio(t);
  const { manager } = await obsStation(t, obs, { password: 'not the password' });
  const status = manager.status().recorder;
  assert.equal(status.connected, false);
  assert.equal(status.lastError?.code, 'OBS_AUTH_FAILED');
  await assert.rejects(manager.startRecording('nope'), (e) => isAppError(e) && e.code === 'OBS_AUTH_FAILED');
  assert.equal(manager.status().state, 'idle');
});

test('OBS: a station restarted while OBS records adopts the running recording instead of losing it', async (t) => {
  const obs = await startObsStudio(t);
  const dir = await tempDir(t);
  const first = await obsStation(t, obs, { dir });
  const started = await first.manager.startRecording('adopt me');
  await first.manager.close(); // the station goes away; OBS keeps recording
  first.db.close();

  const second = await obsStation(t, obs, { dir });
  const status = second.manager.status();
  assert.equal(status.recording, true);
  assert.equal(status.recordingId, started.id);
  assert.equal(status.session?.name, 'adopt me');
  await sleep(1000);
  const stopped = await second.manager.stopRecording();
  assert.equal(stopped.id, started.id);
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  assert.equal(path.dirname(stopped.filePath ?? ''), path.join(second.recordingsPath, 'adopt me'));
  assert.equal(second.manager.listSessions().length, 1, 'no stray "OBS …" session');
});

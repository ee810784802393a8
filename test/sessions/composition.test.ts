import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  buildServeParts,
  buildStationParts,
  recorderExitCode,
  recordingExitCode,
  stationSummary,
  uploadExitCode,
} from '../../src/composition/index.js';
import { loadConfig } from '../../src/config/index.js';
import type { RecorderStatus } from '../../src/recorder/index.js';
import { untilUploadFinished, type RecordingView } from '../../src/sessions/index.js';
import { makeClip } from '../helpers/make-media.js';
import { silentLogger } from '../../src/logging/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { FakeRecorder } from './fake-recorder.js';
import { fakeStation } from './fake-station.js';

test('read-only commands get the catalogs and no upload service, recorder or manager; the queue is read without a server URL', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { seconds: 1, format: 'matroska' });
  const env = { STREAMAI_DATA_DIR: path.join(dir, 'data'), RECORDINGS_PATH: path.join(dir, 'recordings') };

  // A task enqueued by the station's own upload service (nothing started: nothing is sent).
  const writer = buildStationParts(
    loadConfig({ env: { ...env, VULTR_API_URL: 'http://127.0.0.1:9' }, envFile: false }),
    silentLogger(),
    { uploads: {}, recording: false },
  );
  const task = await writer.uploads?.enqueue(clip);
  assert.ok(task);
  await writer.close();

  const reader = buildStationParts(loadConfig({ env, envFile: false }), silentLogger(), {
    uploads: false,
    recording: false,
  });
  t.after(() => reader.close());
  assert.equal(reader.uploads, undefined);
  assert.equal(reader.recorder, undefined);
  assert.equal(reader.manager, undefined);
  assert.deepEqual(
    reader.tasks.list(10).map((x) => [x.id, x.state]),
    [[task.id, 'queued']],
  );
  assert.equal(reader.tasks.history(task.id)[0]?.state, 'queued');
  assert.deepEqual(stationSummary(reader.sessions, reader.tasks), {
    sessions: 0,
    recordings: 0,
    unfinished: 0,
    uploadsPending: 1,
    uploadsFailed: 0,
    uploadsInParts: [],
    lastRecording: null,
  });
});

test('exit codes are decided in one place: recording, upload and recorder outcomes', () => {
  const ready = {
    state: 'ready',
    error: null,
    uploadState: 'completed',
    uploadError: null,
  } as unknown as RecordingView;
  assert.equal(recordingExitCode(ready, false), 0);
  assert.equal(recordingExitCode({ ...ready, uploadState: 'queued' }, true), 130);
  assert.equal(
    recordingExitCode(
      { ...ready, state: 'failed', error: { code: 'RECORDER_UNAVAILABLE', message: '' } },
      false,
    ),
    69,
  );
  assert.equal(recordingExitCode({ ...ready, state: 'failed', error: null }, false), 65);
  assert.equal(
    recordingExitCode(
      { ...ready, uploadState: 'failed', uploadError: { code: 'SERVER_UNREACHABLE', message: '' } },
      false,
    ),
    69,
  );
  assert.equal(recordingExitCode({ ...ready, uploadState: 'cancelled', uploadError: null }, false), 70);
  assert.equal(uploadExitCode({ state: 'completed', lastError: null }), 0);
  assert.equal(uploadExitCode({ state: 'cancelled', lastError: null }), 75);
  assert.equal(
    uploadExitCode({ state: 'failed', lastError: { code: 'CHECKSUM_MISMATCH', message: '' } }),
    65,
  );
  assert.equal(uploadExitCode({ state: 'failed', lastError: { code: 'NOT_A_CODE', message: '' } }), 70);
  const recorder = {
    connected: false,
    lastError: { code: 'OBS_AUTH_FAILED', message: '' },
  } as RecorderStatus;
  assert.equal(recorderExitCode(recorder), 77);
  assert.equal(recorderExitCode({ ...recorder, lastError: null }), 69);
  assert.equal(recorderExitCode({ ...recorder, connected: true }), 0);
});

test('waiting for a recording’s upload ends when the task is finished, or at once when aborted', async (t) => {
  const { manager, uploads } = await fakeStation(t);
  await manager.startRecording('waited');
  const ready = await manager.stopRecording();
  const taskId = await manager.upload(ready.id);
  const waiting = untilUploadFinished(manager, ready.id);
  uploads.move(taskId, 'uploading');
  uploads.move(taskId, 'completed');
  assert.equal((await waiting)?.uploadState, 'completed');

  const again = await manager.upload(ready.id);
  const abort = new AbortController();
  const interrupted = untilUploadFinished(manager, ready.id, abort.signal);
  uploads.move(again, 'uploading');
  abort.abort();
  assert.equal((await interrupted)?.uploadState, 'uploading', 'left to resume later');
});

test('the full station’s parts: one database shared by the upload service, the manager and the catalogs', async (t) => {
  const dir = await tempDir(t);
  const config = loadConfig({
    env: { STREAMAI_DATA_DIR: path.join(dir, 'data'), RECORDINGS_PATH: path.join(dir, 'recordings') },
    envFile: false,
  });
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { seconds: 1, format: 'matroska' });
  const recorder = new FakeRecorder(clip);
  const parts = buildServeParts(
    config,
    silentLogger(),
    { apiUrl: 'http://127.0.0.1:9', apiKey: 'k' },
    { recorder },
  );
  t.after(() => parts.close());
  assert.equal(parts.recorder, recorder);
  assert.equal(parts.manager.recorder, recorder);
  await parts.manager.start();
  const ready = await (async () => {
    await parts.manager.startRecording('built once');
    return parts.manager.stopRecording();
  })();
  assert.equal(
    parts.sessions.getRecording(ready.id)?.state,
    'ready',
    'the catalog reads what the manager wrote',
  );
  const task = await parts.uploads.enqueue(ready.filePath ?? '');
  assert.equal(parts.tasks.get(task.id)?.state, 'queued', 'the task catalog reads what the service wrote');
});

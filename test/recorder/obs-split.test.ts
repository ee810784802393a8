import { after, before, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { link, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { OBSWebSocket } from 'obs-websocket-js';
import {
  ObsRecorder,
  segmentFolderFor,
  type RecordingFinishedEvent,
  type RecordingSegmentEvent,
} from '../../src/recorder/index.js';
import { RecordingManager, probeRecording, type RecordingView } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { UploadService } from '../../src/uploads/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { startObsStudio, type ObsStudio } from '../helpers/obs-studio.js';
import { tempDir } from '../helpers/temp-dir.js';
import { testSettings } from '../uploads/upload-fixtures.js';

/*
 * OBS 29 (Debian's; obs-websocket 5.1, no SplitRecordFile) splits a recording only with its own
 * automatic file splitting, by whole minutes or by size. A minute-long part is too long for a
 * lean test, so this one cuts by size: 1 MB parts at 4 Mb/s CBR with a keyframe every second
 * (OBS cuts at a keyframe) is a part every 2–3 seconds.
 */

/** The profile keys StreamAI changes for a recording, as OBS reports them. */
const KEYS: Array<[string, string]> = [
  ['AdvOut', 'RecSplitFile'],
  ['AdvOut', 'RecSplitFileType'],
  ['AdvOut', 'RecSplitFileSize'],
  ['AdvOut', 'RecSplitFileTime'],
  ['AdvOut', 'RecFormat'],
  ['Output', 'Mode'],
];

let obs: ObsStudio;
let client: OBSWebSocket | undefined;

before(async () => {
  obs = await startObsStudio(undefined, { outputMode: 'advanced', bitrateKbps: 4000 });
});

after(async () => {
  await client?.disconnect();
  await obs?.close();
});

/** A websocket client of the test's own (connected again after OBS was killed and restarted). */
async function control(): Promise<OBSWebSocket> {
  if (client?.identified) return client;
  client = new OBSWebSocket();
  await client.connect(obs.url, obs.password);
  return client;
}

async function profileValues(): Promise<Array<string | null>> {
  const values: Array<string | null> = [];
  for (const [parameterCategory, parameterName] of KEYS) {
    const answer = await (await control()).call('GetProfileParameter', { parameterCategory, parameterName });
    values.push(answer.parameterValue ?? null);
  }
  return values;
}

/** A station on `dir` (a new one by default), uploading to `ingestUrl` when given. */
async function station(
  t: TestContext,
  existingDir?: string,
  beforeStart?: (recorder: ObsRecorder) => void,
  ingestUrl?: string,
) {
  const dir = existingDir ?? (await tempDir(t));
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  const recorder = new ObsRecorder({
    host: obs.host,
    port: obs.port,
    password: obs.password,
    reconnectInitialMs: 200,
    reconnectMaxMs: 1000,
    requestTimeoutMs: 5000,
    stopTimeoutMs: 15_000,
    segmentSeconds: 60,
    splitSizeMb: 1,
    stateFile: path.join(dir, 'obs-recording-parts.json'),
  });
  const uploads = ingestUrl
    ? new UploadService({ db, settings: testSettings(path.join(dir, 'data'), ingestUrl) })
    : undefined;
  uploads?.start();
  const manager = new RecordingManager({
    recorder,
    db,
    recordingsPath: path.join(dir, 'recordings'),
    ...(uploads ? { uploads, autoUpload: true } : {}),
  });
  t.after(async () => {
    await manager.close();
    await uploads?.close();
    if (db.open) db.close();
  });
  beforeStart?.(recorder);
  await manager.start();
  return { dir, db, recorder, manager, uploads };
}

/** Keeps every reported part by a hard link (the station removes parts once joined), by index. */
function keepParts(recorder: ObsRecorder, kept: string) {
  const parts = new Map<number, RecordingSegmentEvent>();
  const links: Array<Promise<void>> = [];
  recorder.on('segment', (s) => {
    if (parts.has(s.index)) return; // reported again by a restarted station
    parts.set(s.index, s);
    links.push(
      // The first station linked the parts it reported already.
      link(s.path, path.join(kept, path.basename(s.path))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      }),
    );
  });
  return { parts, linked: () => Promise.all(links) };
}

async function until(
  condition: () => boolean,
  what: string,
  ms = 60_000,
  refresh?: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (await refresh?.(); !condition() && Date.now() < deadline; await refresh?.()) await sleep(100);
  assert.ok(condition(), what);
}

/**
 * The station goes away while OBS records on, until OBS has closed a part no station watched
 * (its next file appears beside the one it closed).
 */
async function goAway(first: {
  manager: RecordingManager;
  uploads: UploadService | undefined;
  db: { close(): void };
}): Promise<void> {
  await first.manager.close();
  await first.uploads?.close();
  first.db.close();
  let files: string[] = [];
  await until(
    () => files.length >= 2,
    'OBS split while the station was away',
    30_000,
    async () => {
      files = (await readdir(obs.recordDir)).filter((n) => n.endsWith('.mkv'));
    },
  );
}

/** The durations of the kept parts, summed. */
async function partsDuration(kept: string, parts: Iterable<RecordingSegmentEvent>): Promise<number> {
  let sum = 0;
  for (const part of parts) sum += (await probeRecording(path.join(kept, path.basename(part.path)))).duration;
  return sum;
}

test('OBS 29 auto-split: parts are reported while recording, each plays, the session gets one joined file, and the user settings are back at once', async (t) => {
  const { dir, recorder, manager } = await station(t);
  const userSettings = await profileValues();
  assert.equal(userSettings[0], null, 'splitting is off in the user profile');

  // Each part as it is reported, kept by a hard link (the station removes parts once joined).
  const kept = path.join(dir, 'kept');
  await mkdir(kept);
  const parts: RecordingSegmentEvent[] = [];
  const links: Array<Promise<void>> = [];
  recorder.on('segment', (s) => {
    parts.push(s);
    links.push(
      // The first station linked the parts it reported already.
      link(s.path, path.join(kept, path.basename(s.path))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      }),
    );
  });
  let finished: RecordingFinishedEvent | undefined;
  recorder.on('finished', (e) => (finished = e));

  const started = await manager.startRecording('split me');
  assert.deepEqual(manager.status().recorder.segmentation, {
    mode: 'auto-split',
    seconds: null,
    sizeMb: 1,
    reason: null,
  });
  assert.deepEqual(await profileValues(), userSettings, 'OBS read its settings at the start; ours are gone');

  const deadline = Date.now() + 60_000;
  while (parts.length < 2 && Date.now() < deadline) await sleep(100);
  assert.ok(parts.length >= 2, `${parts.length} parts while recording`);
  assert.equal(manager.status().recording, true, 'still recording');
  const whileRecording = parts.length;

  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  assert.ok(parts.length > whileRecording, 'the last part is reported at Stop');
  assert.deepEqual(
    parts.map((p) => p.index),
    parts.map((_, i) => i),
  );
  assert.deepEqual(
    finished?.segments,
    parts.map((p) => p.path),
    'every part, in order, once',
  );
  assert.equal(finished?.outputPath, started.sourcePath, "named after OBS's first file");
  for (const part of parts) {
    assert.equal(part.outputPath, started.sourcePath);
    assert.equal(path.dirname(part.path), segmentFolderFor(started.sourcePath ?? ''));
  }
  await Promise.all(links);

  let sum = 0;
  for (const part of parts) {
    const probe = await probeRecording(path.join(kept, path.basename(part.path)));
    assert.equal(probe.technical.video?.codec, 'h264', part.path);
    assert.ok(probe.duration > 0, `${part.path}: ${probe.duration} s`);
    sum += probe.duration;
  }
  const joined = await probeRecording(stopped.filePath ?? '');
  const frame = 1 / (joined.technical.video?.fps ?? 30);
  t.diagnostic(
    `${parts.length} parts (${whileRecording} while recording), joined ${joined.duration} s, parts ${sum} s`,
  );
  assert.ok(
    Math.abs(joined.duration - sum) <= frame + 1e-3,
    `joined ${joined.duration} s, parts ${sum} s (${parts.length} parts)`,
  );
  assert.equal(path.basename(stopped.filePath ?? ''), path.basename(started.sourcePath ?? ''));
  assert.deepEqual(await readdir(obs.recordDir), [], "nothing left in OBS's folder");
  assert.deepEqual(await profileValues(), userSettings, 'user settings after Stop');
});

test('OBS 29 auto-split, station restarted mid-recording: the new station goes on collecting and uploading the same parts, one task, one joined file', async (t) => {
  const dir = await tempDir(t);
  const kept = path.join(dir, 'kept');
  await mkdir(kept);
  const ingest = await startIngestServer(t);
  const first = await station(t, dir, undefined, ingest.url);
  const one = keepParts(first.recorder, kept);
  const started = await first.manager.startRecording('restart me');
  await until(() => one.parts.size >= 1, 'a part before the restart');
  await goAway(first);

  let two: ReturnType<typeof keepParts> | undefined;
  // Listening before it connects: the new station reports the parts collected before it, too.
  const second = await station(t, dir, (recorder) => (two = keepParts(recorder, kept)), ingest.url);
  assert.ok(two);
  assert.equal(second.manager.status().recordingId, started.id, 'the running recording adopted');
  await until(() => two!.parts.size > one.parts.size, 'the parts closed meanwhile are collected');
  const stopped = await second.manager.stopRecording();
  assert.equal(stopped.id, started.id);
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  await Promise.all([one.linked(), two!.linked()]);
  const indices = [...two!.parts.keys()].sort((a, b) => a - b);
  assert.deepEqual(
    indices,
    indices.map((_, i) => i),
    'the second station reports every part, from 0',
  );
  const sum = await partsDuration(kept, two!.parts.values());
  const joined = await probeRecording(stopped.filePath ?? '');
  t.diagnostic(`${two!.parts.size} parts, joined ${joined.duration} s, parts ${sum} s`);
  assert.ok(Math.abs(joined.duration - sum) <= 1 / 30 + 1e-3, `joined ${joined.duration} s, parts ${sum} s`);

  // One recording, one task: the parts sent before the restart and after it.
  const done = await second.uploads!.waitFor(stopped.uploadTaskId ?? '');
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.equal(done.parts?.total, indices.length);
  assert.deepEqual(
    second.uploads!.list(10).map((task) => task.id),
    [done.id],
    'no second task for the recording',
  );
  let left: string[] = ['?'];
  await until(
    () => left.length === 0,
    "nothing left in OBS's folder once the server has it",
    15_000,
    async () => {
      left = await readdir(obs.recordDir);
    },
  );
});

test('OBS 29 auto-split, OBS killed mid-recording: the closed parts are kept and the recording is joined from them when OBS is back', async (t) => {
  const { dir, recorder, manager } = await station(t);
  const kept = path.join(dir, 'kept');
  await mkdir(kept);
  const { parts, linked } = keepParts(recorder, kept);
  const started = await manager.startRecording('crash me');
  await until(() => parts.size >= 2, 'two parts before the crash');
  await obs.kill();
  await until(() => !manager.status().recorder.connected, 'the station sees OBS gone', 15_000);
  assert.equal(manager.status().recording, true, 'the recording is not dropped while OBS is away');

  const attached = new Promise<RecordingView>((resolve) =>
    manager.on('recording', (r: RecordingView) => {
      if (r.id === started.id && r.state !== 'recording' && r.state !== 'finalizing') resolve(r);
    }),
  );
  await obs.restart();
  const recording = await attached;
  assert.equal(recording.state, 'ready', JSON.stringify(recording.error));
  assert.equal(recording.technical?.['interrupted'], true);
  await linked();
  const closed = [...parts.values()].slice(0, 2);
  const sum = await partsDuration(kept, closed);
  assert.ok(
    (recording.duration ?? 0) >= sum - 1 / 30,
    `joined ${recording.duration} s, closed parts ${sum} s`,
  );
  assert.deepEqual(await readdir(obs.recordDir), [], "nothing left in OBS's folder");
});

test('OBS 29 auto-split, stopped in OBS while no station watched: the next station collects every part and joins them', async (t) => {
  const dir = await tempDir(t);
  const first = await station(t, dir);
  const started = await first.manager.startRecording('stopped while away');
  let reported = 0;
  first.recorder.on('segment', () => (reported += 1));
  await until(() => reported >= 1, 'a part before the station goes');
  await goAway(first);
  const obsClient = await control();
  const recorded = (await obsClient.call('GetRecordStatus')).outputDuration / 1000;
  await obsClient.call('StopRecord');
  let active = true;
  await until(
    () => !active,
    'OBS stopped',
    15_000,
    async () => {
      active = (await obsClient.call('GetRecordStatus')).outputActive;
    },
  );

  const second = await station(t, dir);
  const recording = await second.manager.whenFinalized(started.id);
  assert.equal(recording?.state, 'ready', JSON.stringify(recording?.error));
  assert.equal(recording?.external, true, 'stopped outside StreamAI');
  const parts = await readdir(segmentFolderFor(started.sourcePath ?? '')).catch(() => []);
  assert.deepEqual(parts, [], 'parts removed once joined and verified');
  // Every part, the ones closed while no station watched too (a second of slack: frames in flight).
  assert.ok((recording?.duration ?? 0) >= recorded - 1, `joined ${recording?.duration} s of ${recorded} s`);
  assert.deepEqual(await readdir(obs.recordDir), [], "nothing left in OBS's folder");
});

test('OBS 29 auto-split with auto-upload: parts reach the ingest server while OBS records; after Stop the server joins them into one recording', async (t) => {
  const ingest = await startIngestServer(t);
  const { recorder, manager, uploads } = await station(t, undefined, undefined, ingest.url);
  assert.ok(uploads);
  let reported = 0;
  recorder.on('segment', () => (reported += 1));

  const started = await manager.startRecording('parts up');
  let taskId: string | undefined;
  await until(
    () => taskId !== undefined,
    'a part on the server while recording',
    60_000,
    async () => {
      const id = manager.getRecording(started.id)?.uploadTaskId;
      const task = id ? uploads.get(id) : undefined;
      if (task?.parts && task.parts.uploaded >= 1) taskId = task.id;
    },
  );
  assert.equal(manager.status().recording, true, 'still recording');
  const during = (await (await fetch(`${ingest.url}/status/${taskId}`)).json()) as Record<string, unknown>;
  assert.equal(during['state'], 'receiving');

  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  const done = await uploads.waitFor(taskId ?? '');
  assert.equal(done.state, 'completed', JSON.stringify(done.lastError));
  assert.equal(done.parts?.total, reported, 'every part OBS closed, counted once');
  const server = (await (await fetch(`${ingest.url}/status/${taskId}`)).json()) as Record<string, unknown>;
  assert.equal(server['parts_received'], reported);
  const folder = path.join(ingest.dataDir, taskId ?? '');
  const files = (await readdir(folder)).filter((f) => f.endsWith('.mkv'));
  assert.equal(files.length, 1, `one joined file on the server: ${files.join(', ')}`);
  const joined = await probeRecording(path.join(folder, files[0] ?? ''));
  const local = await probeRecording(stopped.filePath ?? '');
  t.diagnostic(`${reported} parts, server ${joined.duration} s, local ${local.duration} s`);
  assert.ok(
    Math.abs(joined.duration - local.duration) <= 1 / 30 + 1e-3,
    `${joined.duration} vs ${local.duration}`,
  );
});

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
import { RecordingManager, probeRecording } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { startObsStudio, type ObsStudio } from '../helpers/obs-studio.js';
import { tempDir } from '../helpers/temp-dir.js';

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
let control: OBSWebSocket;

before(async () => {
  obs = await startObsStudio(undefined, { outputMode: 'advanced', bitrateKbps: 4000 });
  control = new OBSWebSocket();
  await control.connect(obs.url, obs.password);
});

after(async () => {
  await control?.disconnect();
  await obs?.close();
});

async function profileValues(): Promise<Array<string | null>> {
  const values: Array<string | null> = [];
  for (const [parameterCategory, parameterName] of KEYS) {
    const answer = await control.call('GetProfileParameter', { parameterCategory, parameterName });
    values.push(answer.parameterValue ?? null);
  }
  return values;
}

async function station(t: TestContext) {
  const dir = await tempDir(t);
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  const recorder = new ObsRecorder({
    host: obs.host,
    port: obs.port,
    password: obs.password,
    requestTimeoutMs: 5000,
    stopTimeoutMs: 15_000,
    segmentSeconds: 60,
    splitSizeMb: 1,
  });
  const manager = new RecordingManager({ recorder, db, recordingsPath: path.join(dir, 'recordings') });
  t.after(async () => {
    await manager.close();
    if (db.open) db.close();
  });
  await manager.start();
  return { dir, recorder, manager };
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
    links.push(link(s.path, path.join(kept, path.basename(s.path))));
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

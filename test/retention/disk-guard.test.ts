import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { call, eventually } from '../helpers/station.js';
import { runCli } from '../uploads/run-cli.js';
import { fill, onSmallDisk, stationOnSmallDisk } from './tmpfs.js';

test('starting a recording with less than RECORDING_MIN_FREE_BYTES free is refused with INSUFFICIENT_STORAGE', async (t) => {
  const { url } = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDING_MIN_FREE_BYTES: '100MiB',
  }));
  const answer = await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: 'Full' } });
  assert.equal(answer.status, 507);
  const error = answer.body.error as { code: string; message: string };
  assert.equal(error.code, 'INSUFFICIENT_STORAGE');
  assert.match(error.message, /free in .*recordings; a recording needs RECORDING_MIN_FREE_BYTES=100\.0 MiB/);
  const status = await call(`${url}/api/status`);
  assert.equal((status.body.recorder as { recording: boolean }).recording, false);
});

test('free space falling below half the minimum stops the recording cleanly, keeps the file and says why', async (t) => {
  const { url, disk } = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDING_MIN_FREE_BYTES: '40MiB',
  }));
  const recordings = path.join(disk, 'recordings');
  const started = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'Filling' },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const id = (started.body.recording as { id: string }).id;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await fill(path.join(disk, 'filler.bin'), 48 * 1024 * 1024); // leaves about 15 MiB, under 20 MiB

  type Rec = { state: string; fileName: string; sizeBytes: number };
  const recording = await eventually(
    async () => {
      const r = (await call(`${url}/api/recordings/${id}`)).body.recording as Rec;
      return r.state === 'ready' || r.state === 'failed' ? r : undefined;
    },
    60_000,
    'the recording to be stopped and finalised',
  );
  assert.equal(recording.state, 'ready', JSON.stringify(recording));
  const file = path.join(recordings, 'Filling', recording.fileName);
  assert.equal((await stat(file)).size, recording.sizeBytes, 'the finalised file is kept');

  const retention = await call(`${url}/api/retention`);
  const stops = retention.body.stopped_for_low_disk as Array<{ recording_id: string; message: string }>;
  assert.equal(stops[0]?.recording_id, id);
  assert.match(
    stops[0]!.message,
    /below half of RECORDING_MIN_FREE_BYTES=40\.0 MiB; the file was finalised and kept/,
  );
  assert.equal((retention.body.disk as { low: boolean }).low, true);
  const metadata = await eventually(
    async () => {
      const m = JSON.parse(
        await readFile(path.join(recordings, 'Filling', 'session_metadata.json'), 'utf8'),
      ) as {
        stopped_for_low_disk?: Array<{ recording_id: string }>;
      };
      return m.stopped_for_low_disk ? m : undefined;
    },
    10_000,
    'the metadata file to say why',
  );
  assert.equal(metadata.stopped_for_low_disk?.[0]?.recording_id, id);
});

test('`streamai record` below RECORDING_MIN_FREE_BYTES refuses to start, with the code and its exit status', async (t) => {
  const result = await onSmallDisk(t, (disk) =>
    runCli(
      ['record', '-s', 'Full', '--duration', '1', '--no-upload'],
      {
        RECORDINGS_PATH: path.join(disk, 'recordings'),
        STREAMAI_DATA_DIR: path.join(disk, 'data'),
        STREAMAI_LOG_FILE: path.join(disk, 'streamai.log'),
        RECORDER: 'ffmpeg',
        RECORDING_MIN_FREE_BYTES: '100MiB',
      },
      disk,
    ),
  );
  assert.equal(result.code, 75, result.stderr);
  assert.match(
    result.stderr,
    /error \[INSUFFICIENT_STORAGE\]: only .* free in .*recordings; a recording needs RECORDING_MIN_FREE_BYTES=100\.0 MiB/,
  );
});

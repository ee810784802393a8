import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startFaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sha256Of } from '../uploads/upload-fixtures.js';
import {
  ingestStatus,
  kill,
  scenario,
  spawnStreamai,
  stationEnv,
  startIngest,
  until,
  waitForOutput,
  type CliProcess,
} from './support.js';

const KILLS = 5;

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, JSON.stringify(json));
  return json;
}

test(`the station SIGKILLed / SIGTERMed ${KILLS} times mid-upload resumes the upload by itself each time`, async (t: TestContext) => {
  const figures = scenario(
    t,
    'station-kill',
    'station (`streamai serve`) SIGKILLed / SIGTERMed mid-upload',
    'after each restart the upload resumes with no request; one verified copy',
  );
  const dir = await tempDir(t, 'streamai-fault-station-');
  const ingestData = path.join(dir, 'ingest-data');
  const ingest = await startIngest(t, { dir, dataDir: ingestData, port: await freePort() });
  // Slow until the recording's size is known, so that the upload cannot finish before the kills.
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 16 * 1024 });
  const port = await freePort();
  const env = {
    ...stationEnv(dir, port, proxy.url),
    VULTR_UPLOAD_CHUNK_SIZE: '65536',
    VULTR_UPLOAD_STALL_TIMEOUT: '5',
    VULTR_UPLOAD_RETRIES: '50',
    // One file after Stop: this scenario checks the whole recording's digest and byte count on
    // the server; the same kills during a recording sent in parts: station-kill-recording.
    RECORDING_SEGMENT_SECONDS: '0',
  };

  const station = `http://127.0.0.1:${port}`;
  const serve = async (): Promise<CliProcess> => {
    const cli = spawnStreamai(t, ['serve'], env, dir);
    await waitForOutput(cli, /Press Ctrl-C/);
    return cli;
  };
  let current = await serve();

  await post(`${station}/api/recording/start`, { sessionName: 'Fault drill' });
  await sleep(3000);
  const stopped = await post(`${station}/api/recording/stop`, {});
  const recording = stopped.recording as { fileName: string; sizeBytes: number };
  const recordings = path.join(dir, 'recordings');
  const found = (await readdir(recordings, { recursive: true })).find(
    (name) => path.basename(name) === recording.fileName,
  );
  assert.ok(found, `the recording ${recording.fileName} is in ${recordings}`);
  const digest = await sha256Of(path.join(recordings, found));
  const size = recording.sizeBytes;
  assert.ok(size > 0, 'the recording has bytes');
  // About 1.5 s of upload between two kills.
  const step = Math.max(16 * 1024, Math.floor(size / (KILLS + 2)));
  proxy.set({ throttleBytesPerSecond: Math.max(16 * 1024, Math.floor(step / 1.5)) });

  // How long each restart took to move the upload on by `step` bytes (HTTP heads alone do
  // not count): after a SIGKILL the new process may have to wait out the dead one's lease
  // (30 s) before it takes the task over.
  const serverHasAll = async (): Promise<boolean> => {
    const list = (await fetch(`${ingest.url}/uploads?limit=5`).then((r) => r.json())) as Array<{
      task_id: string;
    }>;
    if (list.length === 0) return false;
    const status = await ingestStatus(ingest.url, list[0]?.task_id ?? '');
    const upload = status?.upload as { sha256?: string | null; received_bytes?: number | null } | undefined;
    return Boolean(upload?.sha256) && upload?.received_bytes === size;
  };
  const resumeDelays: string[] = [];
  let lastSignal = '';
  const resumed = async (k: number): Promise<void> => {
    const from = proxy.bytesUp;
    const restartedAt = Date.now();
    const what = k === 0 ? 'the recording stopped' : `restart ${k} (after ${lastSignal})`;
    try {
      // Moving on by `step` bytes, or finishing: the last restart may have less than `step` left.
      await until(
        async () => (proxy.bytesUp >= from + step || (await serverHasAll()) ? true : undefined),
        75_000,
        `the upload to resume after ${what} (the station must resume unfinished uploads by itself)`,
      );
    } catch (error) {
      figures.notes.push(
        `moving again after each restart: ${[...resumeDelays, `${lastSignal} not in 75 s`].join(', ')}`,
      );
      throw error;
    }
    if (k > 0) resumeDelays.push(`${lastSignal} ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
  };
  for (let k = 0; k < KILLS; k += 1) {
    await resumed(k);
    lastSignal = k % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
    await kill(current, lastSignal as NodeJS.Signals);
    figures.faults += 1;
    figures.count(lastSignal);
    current = await serve();
  }
  await resumed(KILLS);
  figures.notes.push(`moving again after each restart: ${resumeDelays.join(', ')}`);
  proxy.set({});
  const done = await until(
    async () => {
      // GET /uploads is a JSON array, as the original's scripts read it.
      const list = (await fetch(`${ingest.url}/uploads?limit=5`).then((r) => r.json())) as Array<{
        task_id: string;
      }>;
      assert.equal(list.length, 1, 'one task on the server');
      const status = await ingestStatus(ingest.url, list[0]?.task_id ?? '');
      const upload = status?.upload as { sha256?: string | null; received_bytes?: number | null } | undefined;
      return upload?.sha256 && upload.received_bytes === size ? upload : undefined;
    },
    60_000,
    'the server to hold the whole recording',
  );
  assert.equal(done.sha256, digest, 'the server holds the verified recording');
  await kill(current, 'SIGTERM'); // before the temporary folder goes
  figures.count('uploads completed');
  figures.notes.push(`recording of ${(size / 1024).toFixed(0)} KiB, 64 KiB chunks`);
  figures.pass();
});

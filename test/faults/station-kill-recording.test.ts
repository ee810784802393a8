import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { freePort } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
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

interface UploadView {
  task_id: string;
  state: string;
  recording_id: string | null;
  parts?: { total: number | null; uploaded: number; waiting: number; waiting_bytes: number; mode: string };
}

async function stationUploads(station: string): Promise<UploadView[]> {
  try {
    const answer = await fetch(`${station}/api/vultr/uploads?limit=10`, {
      signal: AbortSignal.timeout(5000),
    });
    return answer.ok ? ((await answer.json()) as { uploads: UploadView[] }).uploads : [];
  } catch {
    return [];
  }
}

test('the station SIGKILLed mid-recording: the parts on the server stay, after the restart the rest is sent and the server joins once', async (t: TestContext) => {
  const figures = scenario(
    t,
    'station-kill-recording',
    'station (`streamai serve`) SIGKILLed while recording in 1-s parts',
    'parts already sent are not sent again; the rest follow after the restart; one joined recording',
  );
  const dir = await tempDir(t, 'streamai-fault-parts-');
  const ingest = await startIngest(t, {
    dir,
    dataDir: path.join(dir, 'ingest-data'),
    port: await freePort(),
  });
  const port = await freePort();
  const env = { ...stationEnv(dir, port, ingest.url), RECORDING_SEGMENT_SECONDS: '1' };
  const station = `http://127.0.0.1:${port}`;
  const serve = async (): Promise<CliProcess> => {
    const cli = spawnStreamai(t, ['serve'], env, dir);
    await waitForOutput(cli, /Press Ctrl-C/);
    return cli;
  };
  let current = await serve();
  const started = await fetch(`${station}/api/recording/start`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sessionName: 'Killed mid-recording' }),
  });
  assert.equal(started.status, 200, await started.text());

  // Parts on the server while it records; the task shows them.
  const before = await until(
    async () => (await stationUploads(station)).find((u) => (u.parts?.uploaded ?? 0) >= 2),
    30_000,
    'two parts on the server while recording',
  );
  const taskId = before.task_id;
  await kill(current, 'SIGKILL');
  figures.faults += 1;
  const atKill = await ingestStatus(ingest.url, taskId);
  assert.equal(atKill?.['state'], 'receiving', 'not joined: the recording was still going');
  const sentBefore = atKill?.['parts_received'] as number;
  assert.ok(sentBefore >= 2, `${sentBefore} parts on the server at the kill`);
  await sleep(1500); // ffmpeg, orphaned, records on: more parts close while the station is down

  current = await serve();
  const joined = await until(
    async () => {
      const status = await ingestStatus(ingest.url, taskId);
      return status && status['state'] !== 'receiving' && status['parts_expected'] !== null
        ? status
        : undefined;
    },
    90_000,
    'the server to join the recording after the restart (the station must finish it by itself)',
  );
  const expected = joined['parts_expected'] as number;
  const parts = joined['parts'] as Array<{ index: number; sha256: string | null; state: string }>;
  assert.ok(expected > sentBefore, `${expected} parts in all, ${sentBefore} before the kill`);
  assert.equal(joined['parts_received'], expected);
  assert.deepEqual(
    parts.map((p) => p.index).sort((a, b) => a - b),
    Array.from({ length: expected }, (_, i) => i),
    'each part stored once',
  );
  assert.ok(parts.every((p) => p.sha256 !== null && p.state === 'received'));

  const done = await until(
    async () => (await stationUploads(station)).find((u) => u.task_id === taskId && u.state === 'completed'),
    60_000,
    'the station task to complete',
  );
  assert.deepEqual(done.parts, {
    total: expected,
    uploaded: expected,
    waiting: 0,
    waiting_bytes: 0,
    mode: 'parts',
  });
  const all = await stationUploads(station);
  assert.equal(
    all.filter((u) => u.recording_id === before.recording_id).length,
    1,
    'one task for the recording',
  );
  await kill(current, 'SIGTERM');

  // Parts the server had before the kill were not sent again: each "on the server" once.
  const db = new Database(path.join(dir, 'data', 'streamai.db'), { readonly: true });
  const lines = db
    .prepare('SELECT message FROM upload_task_events WHERE task_id = ? AND message LIKE ?')
    .all(taskId, 'part % on the server:%') as Array<{ message: string }>;
  db.close();
  for (let i = 1; i <= expected; i += 1) {
    const confirmations = lines.filter(
      (l) => l.message.startsWith(`part ${i} `) || l.message.startsWith(`part ${i}:`),
    );
    assert.ok(confirmations.length <= 1, `part ${i} confirmed ${confirmations.length} times`);
  }
  figures.count('recordings joined once');
  figures.notes.push(
    `${sentBefore} of ${expected} parts on the server at the kill; the rest after the restart`,
  );
  figures.pass();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startFaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, sha256Of } from '../uploads/upload-fixtures.js';
import { MiB, kill, scenario, seededRandom, spawnStreamai, startIngest } from './support.js';

const KILLS = 20;
const LANES = 10;
const SIZE = 6 * MiB;
const CHUNK = 1 * MiB;
// HTTP heads and the /health probe also cross the proxy: allowed on top of one chunk.
const SLACK = 64 * 1024;

test(`streamai upload SIGKILLed at ${KILLS} random moments: each task completes on rerun, one verified copy, at most one chunk re-sent`, async (t) => {
  const figures = scenario(
    t,
    'client-kill',
    '`streamai upload` SIGKILLed at random moments',
    'rerun completes the same task; one verified copy; ≤ 1 chunk re-sent',
  );
  const rng = seededRandom('client-kill');
  figures.notes.push(`seed ${rng.seed}`);
  const dir = await tempDir(t, 'streamai-fault-client-');
  const file = await makeBigClip(path.join(dir, 'session clip.mkv'), SIZE);
  const digest = await sha256Of(file);
  const ingestData = path.join(dir, 'ingest-data');
  const ingest = await startIngest(t, { dir, dataDir: ingestData, port: await freePort() });
  let worstResent = 0;
  const taskIds: string[] = [];

  /**
   * One lane: its own throttled proxy (so its bytes can be counted) and `runs` kills in a row.
   * Lanes run side by side because a rerun may wait for the killed run's lease to expire.
   */
  const lane = async (laneIndex: number, runs: number): Promise<void> => {
    // Throttled so that a random byte is a moment the test can catch on a busy machine.
    const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 6 * MiB });
    for (let r = 0; r < runs; r += 1) {
      const i = laneIndex * runs + r;
      const env = {
        STREAMAI_DATA_DIR: path.join(dir, `station-${i}`),
        STREAMAI_LOG_FILE: path.join(dir, 'logs', `client-${i}.log`),
        VULTR_API_URL: proxy.url,
        VULTR_UPLOAD_CHUNK_SIZE: String(CHUNK),
      };
      const before = proxy.bytesUp;
      const first = spawnStreamai(t, ['upload', file, '--no-process'], env, dir);
      // One kill in four lands before any byte is sent (checks, hashing, creation); the others
      // at a random byte of the file.
      const early = i % 4 === 0;
      const killAt = before + rng.int(1, SIZE - 1);
      const delayMs = rng.int(0, 800);
      const started = Date.now();
      for (;;) {
        if (first.child.exitCode !== null) break;
        if (early ? Date.now() - started >= delayMs : proxy.bytesUp >= killAt) break;
        assert.ok(Date.now() - started < 60_000, `run ${i}: the first run made progress`);
        await sleep(early ? 5 : 2);
      }
      const finishedAlready = first.child.exitCode !== null;
      await kill(first, 'SIGKILL');
      figures.faults += 1;
      const firstId = /^(task_\S+)/m.exec(first.stdout)?.[1];

      const rerunStarted = Date.now();
      const second = spawnStreamai(t, ['upload', file, '--no-process', '--json'], env, dir);
      const code = await second.exited;
      slowestRerun = Math.max(slowestRerun, Date.now() - rerunStarted);
      assert.equal(code, 0, `run ${i}: the rerun completes: ${second.stderr}`);
      const task = JSON.parse(second.stdout) as { id: string; state: string; sha256: string };
      assert.equal(task.state, 'completed');
      if (firstId) assert.equal(task.id, firstId, `run ${i}: the rerun resumed the same task`);
      assert.equal(task.sha256, digest);
      assert.deepEqual(await readdir(path.join(ingestData, task.id)), ['session clip.mkv']);
      assert.equal(await sha256Of(path.join(ingestData, task.id, 'session clip.mkv')), digest);
      taskIds.push(task.id);
      const resent = proxy.bytesUp - before - SIZE;
      worstResent = Math.max(worstResent, resent);
      assert.ok(resent <= CHUNK + SLACK, `run ${i}: bytes sent twice ${resent} (one chunk is ${CHUNK})`);
      figures.count(finishedAlready ? 'completed (first run had finished)' : 'completed on rerun');
    }
  };
  let slowestRerun = 0;
  await Promise.all(Array.from({ length: LANES }, (_, l) => lane(l, KILLS / LANES)));
  // Exactly one copy per task on the server: no task folder but those of the reruns.
  const folders = (await readdir(ingestData)).filter((n) => n.startsWith('task_')).sort();
  assert.deepEqual(folders, [...taskIds].sort(), 'one copy per task, nothing else');
  figures.notes.push(`slowest rerun ${(slowestRerun / 1000).toFixed(1)} s`);
  figures.notes.push(
    `${SIZE / MiB} MiB file, ${CHUNK / MiB} MiB chunks; most bytes sent twice: ${(worstResent / 1024).toFixed(0)} KiB`,
  );
  figures.pass();
});

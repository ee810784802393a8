import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, sha256Of } from './upload-fixtures.js';
import { runCli, spawnCli } from './run-cli.js';

const MiB = 1024 * 1024;

test('a client SIGKILLed halfway through a 300 MiB upload completes when started again, re-sending at most one chunk', async (t) => {
  const dir = await tempDir(t);
  const size = 300 * MiB;
  const chunk = 8 * MiB;
  const file = await makeBigClip(path.join(dir, 'long session.mkv'), size);
  const ingest = await startIngestServer(t);
  // Throttled, so that "halfway" is a moment the test can catch even on a busy machine.
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 60 * MiB });
  const env = {
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    VULTR_API_URL: proxy.url,
    VULTR_UPLOAD_CHUNK_SIZE: String(chunk),
  };

  const first = spawnCli(['upload', file], env, dir);
  let firstOut = '';
  first.stdout?.on('data', (d: Buffer) => (firstOut += d.toString()));
  const exited = new Promise((resolve) => first.on('close', resolve));
  t.after(() => first.kill('SIGKILL'));
  const deadline = Date.now() + 120_000;
  while (proxy.bytesUp < size / 2) {
    assert.ok(Date.now() < deadline, 'the first run got halfway');
    assert.equal(first.exitCode, null, 'the first run is still running');
    await sleep(20);
  }
  first.kill('SIGKILL');
  await exited;
  const sentBeforeKill = proxy.bytesUp;
  assert.ok(sentBeforeKill < size, 'killed before the end');

  proxy.set({});
  const second = await runCli(['upload', file, '--json'], env, dir);

  assert.equal(second.code, 0, second.stderr);
  const task = JSON.parse(second.stdout) as { id: string; state: string; sha256: string; attempts: number };
  assert.equal(task.id, firstOut.trim().split('\n')[0], 'the same task was resumed');
  assert.equal(task.state, 'completed');
  assert.equal(task.sha256, await sha256Of(file));
  assert.equal(await sha256Of(path.join(ingest.dataDir, task.id, 'long session.mkv')), task.sha256);
  const twice = proxy.bytesUp - size;
  assert.ok(twice <= chunk + 64 * 1024, `bytes sent twice: ${twice} (one chunk is ${chunk})`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { freePort, startFaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, openService, sha256Of, testSettings } from '../uploads/upload-fixtures.js';
import { MiB, scenario, settled, startIngest, until } from './support.js';

const SIZE = 8 * MiB;
const STALL_TIMEOUT_MS = 2000;

test('a stalled link: the attempt is abandoned after the stall timeout and resumed once the link heals; a pause shorter than the timeout is ridden out', async (t) => {
  const figures = scenario(
    t,
    'stall',
    `stalled link (fault proxy; stall timeout ${STALL_TIMEOUT_MS / 1000} s)`,
    'abandoned after the stall timeout, resumed when healed; a shorter pause is not abandoned',
  );
  const dir = await tempDir(t, 'streamai-fault-stall-');
  const dataDir = path.join(dir, 'ingest-data');
  const ingest = await startIngest(t, { dir, dataDir, port: await freePort() });
  const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 4 * MiB });
  const file = await makeBigClip(path.join(dir, 'stalled clip.mkv'), SIZE);
  const digest = await sha256Of(file);
  const { service } = openService(
    t,
    path.join(dir, 'station'),
    testSettings(path.join(dir, 'station'), proxy.url, {
      chunkSizeBytes: 2 * MiB,
      stallTimeoutMs: STALL_TIMEOUT_MS,
      retries: 20,
    }),
  );

  // 1: the link goes dead a third of the way in; nothing more reaches the server.
  proxy.set({ throttleBytesPerSecond: 4 * MiB, fault: { kind: 'stall', at: Math.floor(SIZE / 3) } });
  const task = await service.enqueue(file, { autoProcess: false });
  await until(async () => (proxy.fired.length > 0 ? true : undefined), 60_000, 'the stall');
  const stalledAt = Date.now();
  figures.faults += 1;
  const connectionsAtStall = proxy.connections;
  // It heals at once for new connections: the client has to give up on the dead one first.
  const healed = { throttleBytesPerSecond: 4 * MiB };
  proxy.set(healed);
  await until(
    async () => (proxy.connections > connectionsAtStall ? true : undefined),
    STALL_TIMEOUT_MS + 30_000,
    'the client to abandon the stalled attempt and reconnect',
  );
  const abandonedAfterMs = Date.now() - stalledAt;
  assert.ok(
    abandonedAfterMs >= STALL_TIMEOUT_MS * 0.8,
    `abandoned after ${abandonedAfterMs} ms, not before the ${STALL_TIMEOUT_MS} ms stall timeout`,
  );
  figures.count('abandoned, then resumed');
  figures.notes.push(`abandoned ${(abandonedAfterMs / 1000).toFixed(1)} s after the stall`);

  // 2: a pause of a third of the stall timeout, later in the same upload: ridden out. (The
  // attempt count is read once the new attempt is under way.)
  const resumedFrom = proxy.bytesUp;
  await until(
    async () => (proxy.bytesUp > resumedFrom + 256 * 1024 ? true : undefined),
    60_000,
    'the upload to resume',
  );
  const attemptsBefore = service.get(task.id)?.attempts ?? 0;
  proxy.set({
    ...healed,
    fault: {
      kind: 'stall',
      at: proxy.bytesUp + Math.floor(SIZE / 4),
      forMs: Math.floor(STALL_TIMEOUT_MS / 3),
    },
  });
  const final = await settled(service, task.id);
  assert.equal(final.state, 'completed', JSON.stringify(final.lastError));
  assert.equal(final.sha256, digest);
  assert.equal(await sha256Of(path.join(dataDir, task.id, 'stalled clip.mkv')), digest);
  if (proxy.fired.some((f) => f.startsWith('healed'))) {
    figures.faults += 1;
    assert.equal(final.attempts, attemptsBefore, 'the short pause did not cost an attempt');
    figures.count('short pause ridden out');
  }
  figures.notes.push(`faults fired: ${proxy.fired.join(', ')}`);
  figures.pass();
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { copyFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, openService, sha256Of, testSettings } from '../uploads/upload-fixtures.js';
import type { UploadSettings } from '../../src/uploads/index.js';
import {
  MiB,
  kill,
  scenario,
  seededRandom,
  startIngest,
  until,
  settled,
  type Figures,
  type IngestProcess,
} from './support.js';

const SIZE = 8 * MiB;

/** An ingest process on a fixed port behind a throttled proxy, restartable after a kill. */
async function killableIngest(t: TestContext, dir: string) {
  const dataDir = path.join(dir, 'ingest-data');
  const port = await freePort();
  let ingest: IngestProcess = await startIngest(t, { dir, dataDir, port });
  const proxy: FaultProxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 8 * MiB });
  return {
    dataDir,
    proxy,
    /** SIGKILL, then start again on the same port and data folder. */
    async killAndRestart(figures: Figures): Promise<void> {
      await kill(ingest.cli, 'SIGKILL');
      figures.faults += 1;
      ingest = await startIngest(t, { dir, dataDir, port });
    },
  };
}

/**
 * Waits until the one unfinished tus upload's file in `tusDir` holds SIZE bytes (true), or is
 * gone because the server already completed it (false).
 */
async function lastByte(tusDir: string): Promise<boolean> {
  const deadline = Date.now() + 60_000;
  const names = (await readdir(tusDir)).filter((n) => !n.endsWith('.json'));
  const infos = names.map((n) => ({ n, info: statSync(path.join(tusDir, n), { throwIfNoEntry: false }) }));
  const active = infos.filter((x) => x.info && x.info.size < SIZE).map((x) => x.n);
  assert.ok(active.length <= 1, `at most one unfinished tus upload in ${tusDir}: ${names.join(', ')}`);
  // Already completed and moved into its task folder before this first look (the last 256 KiB
  // travel in a moment): the same "gone" as below, counted as a kill just after completion.
  if (active.length === 0) return false;
  const file = path.join(tusDir, active[0] ?? '');
  while (Date.now() < deadline) {
    const info = statSync(file, { throwIfNoEntry: false });
    if (!info) return false;
    if (info.size === SIZE) return true;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the upload never reached its last byte');
}

/** Client settings: the real upload service, retrying quickly while the server is down. */
function clientSettings(dir: string, url: string, overrides: Partial<UploadSettings>): UploadSettings {
  return testSettings(path.join(dir, 'station'), url, {
    retries: 100,
    chunkSizeBytes: 2 * MiB,
    stallTimeoutMs: 5000,
    ...overrides,
  });
}

async function waitForBytes(proxy: FaultProxy, atLeast: number, what: string): Promise<void> {
  await until(async () => (proxy.bytesUp >= atLeast ? true : undefined), 60_000, what);
}

/** The one task folder on the server holds exactly the verified file, and nothing else. */
async function assertOneVerifiedCopy(dataDir: string, taskId: string, fileName: string, digest: string) {
  assert.deepEqual(
    await readdir(path.join(dataDir, taskId)),
    [fileName],
    `${taskId}: one file in its folder`,
  );
  assert.equal(
    await sha256Of(path.join(dataDir, taskId, fileName)),
    digest,
    `${taskId}: the copy is verified`,
  );
}

test('the ingest server SIGKILLed mid-upload (tus), at random bytes and at the last byte: every upload completes, one verified copy', async (t) => {
  const figures = scenario(
    t,
    'ingest-kill-tus',
    'ingest server SIGKILLed mid-upload (tus), incl. at the last byte',
    'client resumes after restart; one verified copy per task',
  );
  const rng = seededRandom('ingest-kill-tus');
  figures.notes.push(`seed ${rng.seed}`);
  const dir = await tempDir(t, 'streamai-fault-ingest-');
  const server = await killableIngest(t, dir);
  const base = await makeBigClip(path.join(dir, 'base.mkv'), SIZE);
  const { service } = openService(t, path.join(dir, 'station'), clientSettings(dir, server.proxy.url, {}));
  const UPLOADS = 5;
  const RANDOM_KILLS = 3;
  let lastByteKills = 0;

  for (let u = 0; u < UPLOADS; u += 1) {
    const file = path.join(dir, `clip ${u}.mkv`);
    // Same bytes, new task: every upload is a different file path.
    await copyFile(base, file);
    const digest = await sha256Of(file);
    const start = server.proxy.bytesUp;
    const task = await service.enqueue(file, { autoProcess: false });
    const points = Array.from({ length: RANDOM_KILLS }, () => rng.int(1, SIZE - 1)).sort((a, b) => a - b);
    for (const point of points) {
      await waitForBytes(server.proxy, start + point, `upload ${u} to reach byte ${point}`);
      await server.killAndRestart(figures);
      figures.count('random-byte kills');
    }
    // The last byte: kill the moment the server's copy holds every byte (offset = length),
    // before or while it verifies and completes it. Polled between event-loop turns (the
    // proxy runs in this process too), from a little before the end.
    await waitForBytes(server.proxy, start + SIZE - 256 * 1024, `upload ${u} to near its end`);
    const caught = await lastByte(path.join(server.dataDir, '.tus'));
    await server.killAndRestart(figures);
    if (caught) {
      lastByteKills += 1;
      figures.count('last-byte kills');
    } else figures.count('kills just after completion');

    const final = await settled(service, task.id);
    assert.equal(final.state, 'completed', `upload ${u}: ${JSON.stringify(final.lastError)}`);
    assert.equal(final.sha256, digest);
    await assertOneVerifiedCopy(server.dataDir, task.id, path.basename(file), digest);
    figures.count('uploads completed');
  }
  assert.ok(lastByteKills >= 1, 'at least one kill landed at the last byte');
  assert.ok(figures.faults >= 20, `${figures.faults} kills`);
  figures.notes.push(`${UPLOADS} uploads of ${SIZE / MiB} MiB, 2 MiB chunks`);
  figures.pass();
});

test('the ingest server SIGKILLed mid-upload (multipart): the upload completes, nothing partial kept', async (t) => {
  const figures = scenario(
    t,
    'ingest-kill-multipart',
    'ingest server SIGKILLed mid-upload (multipart)',
    'client re-sends after restart; one verified copy; no partial file kept',
  );
  const rng = seededRandom('ingest-kill-multipart');
  figures.notes.push(`seed ${rng.seed}`);
  const dir = await tempDir(t, 'streamai-fault-ingest-mp-');
  const server = await killableIngest(t, dir);
  const file = await makeBigClip(path.join(dir, 'multipart clip.mkv'), SIZE);
  const digest = await sha256Of(file);
  const { service } = openService(
    t,
    path.join(dir, 'station'),
    clientSettings(dir, server.proxy.url, { protocol: 'multipart' }),
  );
  const KILLS = 5;
  const task = await service.enqueue(file, { autoProcess: false });
  for (let k = 0; k < KILLS; k += 1) {
    // Each attempt starts from byte 0: kill it at a random byte of this attempt.
    const attemptStart = server.proxy.bytesUp;
    await until(
      async () => (server.proxy.bytesUp > attemptStart + 64 * 1024 ? true : undefined),
      60_000,
      `attempt ${k} to start sending`,
    );
    await waitForBytes(server.proxy, attemptStart + rng.int(64 * 1024, SIZE - 1), `attempt ${k} to progress`);
    await server.killAndRestart(figures);
    figures.count('kills');
    // Nothing half-received is ever shown in a task folder. A kill that lands after the last
    // byte (the proxy counts bytes forwarded, the kill takes a moment) may find the body
    // complete: then the restarted server shows the one verified copy, and nothing is left to kill.
    const entries = await readdir(path.join(server.dataDir, task.id)).catch(() => []);
    if (entries.length > 0) {
      await assertOneVerifiedCopy(server.dataDir, task.id, path.basename(file), digest);
      figures.count('kills just after completion');
      break;
    }
  }
  await sleep(100);
  const final = await settled(service, task.id);
  assert.equal(final.state, 'completed', JSON.stringify(final.lastError));
  await assertOneVerifiedCopy(server.dataDir, task.id, path.basename(file), digest);
  const incoming = await readdir(path.join(server.dataDir, '.incoming')).catch(() => []);
  assert.deepEqual(
    incoming.filter((n) => n.endsWith('.part')),
    [],
    'no half-received multipart file left behind',
  );
  figures.count('uploads completed');
  figures.notes.push(`${SIZE / MiB} MiB file`);
  figures.pass();
});

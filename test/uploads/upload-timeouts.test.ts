import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { UploadHttpClient, fetchRemoteStatus, probeServer } from '../../src/uploads/index.js';
import { transportFor } from '../../src/uploads/transports.js';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeBigClip, openService, testSettings } from './upload-fixtures.js';

const MiB = 1024 * 1024;
/** Each test fails (rather than hangs for VULTR_UPLOAD_TIMEOUT = 300 s) when a request is unbounded. */
const BOUNDED = { timeout: 60_000 };

async function blackholed(t: import('node:test').TestContext) {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const proxy = await startFaultProxy(t, ingest.url, { blackhole: true });
  // A long overall timeout: only the connect timeout can end these requests in time.
  const settings = testSettings(dir, proxy.url, { connectTimeoutMs: 300, requestTimeoutMs: 300_000 });
  const http = new UploadHttpClient(settings);
  t.after(() => http.close());
  return { dir, proxy, http, settings };
}

function unreachableWithinConnectTimeout(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return e.code === 'SERVER_UNREACHABLE' && /VULTR_UPLOAD_CONNECT_TIMEOUT/.test(e.message ?? '');
}

test('the health check fails within the connect timeout when nothing answers', BOUNDED, async (t) => {
  const { http, proxy } = await blackholed(t);
  await assert.rejects(probeServer(http), unreachableWithinConnectTimeout);
  assert.ok(proxy.fired.includes('blackhole'));
});

test('GET /status fails within the connect timeout when nothing answers', BOUNDED, async (t) => {
  const { http } = await blackholed(t);
  await assert.rejects(fetchRemoteStatus(http, 'task_x'), unreachableWithinConnectTimeout);
});

test(
  'the tus HEAD before a resume fails within the connect timeout when nothing answers',
  BOUNDED,
  async (t) => {
    const { http, settings, proxy } = await blackholed(t);
    const tus = transportFor('tus', http, settings, undefined);
    await assert.rejects(
      tus.upload({
        taskId: 'task_x',
        filePath: '/nowhere',
        fileName: 'x.mkv',
        size: 10,
        sha256: 'a'.repeat(64),
        sessionName: null,
        autoProcess: false,
        remoteUrl: `${proxy.url}/files/abc`,
        signal: new AbortController().signal,
        onRemoteUrl: () => undefined,
        onConfirmed: () => undefined,
        onBytes: () => undefined,
      }),
      unreachableWithinConnectTimeout,
    );
  },
);

test(
  'after a stall, a retry into a dead route gives up within the connect timeout, then resumes once it heals',
  BOUNDED,
  async (t) => {
    const dir = await tempDir(t);
    const file = await makeBigClip(path.join(dir, 'big.mkv'), 12 * MiB);
    const ingest = await startIngestServer(t);
    const proxy = await startFaultProxy(t, ingest.url, { fault: { kind: 'stall', at: 5 * MiB } });
    const settings = testSettings(dir, proxy.url, {
      stallTimeoutMs: 800,
      connectTimeoutMs: 300,
      requestTimeoutMs: 300_000,
      chunkSizeBytes: 4 * MiB,
      retries: 20,
    });
    const { service } = openService(t, dir, settings);
    service.on('state', (task) => {
      if (task.state === 'retry_wait' && task.lastError?.code === 'UPLOAD_STALLED') {
        proxy.set({ blackhole: true });
      }
      if (task.state === 'retry_wait' && /VULTR_UPLOAD_CONNECT_TIMEOUT/.test(task.lastError?.message ?? '')) {
        proxy.set({});
      }
    });

    const task = await service.waitFor((await service.enqueue(file)).id);

    assert.equal(task.state, 'completed', JSON.stringify(task.lastError));
    const retries = service.history(task.id).filter((e) => e.state === 'retry_wait');
    assert.match(retries[0]?.message ?? '', /UPLOAD_STALLED/);
    assert.match(retries[1]?.message ?? '', /SERVER_UNREACHABLE: .*VULTR_UPLOAD_CONNECT_TIMEOUT/);
  },
);

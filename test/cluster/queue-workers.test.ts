import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { request } from 'undici';
import { makeClip } from '../helpers/make-media.js';
import { startIngestProcess } from '../helpers/ingest-process.js';
import { doneCounts, startWorker, waitFor } from '../helpers/worker-process.js';
import { startPostgres } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';
import { tempDir } from '../helpers/temp-dir.js';
import { postUpload } from '../ingest/ingest-support.js';

/** Short locks so that a killed worker's job is handed out again within seconds. */
const QUEUE_ENV = {
  QUEUE_LOCK_SECONDS: '5',
  QUEUE_STALLED_CHECK_SECONDS: '1',
  QUEUE_JOB_BACKOFF_SECONDS: '1',
};

async function processingState(url: string, taskId: string): Promise<string | undefined> {
  const res = await request(`${url}/status/${taskId}`);
  const body = (await res.body.json()) as { processing?: { state?: string } };
  return body.processing?.state;
}

for (const backend of ['Redis', 'PostgreSQL'] as const) {
  test(`ingest + two streamai workers on ${backend}: every upload processed exactly once, /status follows`, async (t) => {
    const queueUrl = backend === 'Redis' ? (await startRedis(t)).url : (await startPostgres(t)).url;
    const dir = await tempDir(t);
    const dataDir = path.join(dir, 'ingest-data');
    const env = { ...QUEUE_ENV, QUEUE_URL: queueUrl };
    const { url } = await startIngestProcess(t, {
      script: 'src/cli/main.ts',
      args: ['ingest', '--port', '0', '--data-dir', dataDir],
      env,
    });
    const workers = [await startWorker(t, env, dataDir), await startWorker(t, env, dataDir)];
    const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
    const ids = Array.from({ length: 4 }, (_, i) => `queue-${backend}-${i}`);
    for (const id of ids) {
      const res = await postUpload(
        url,
        { task_id: id, auto_process: 'true' },
        { name: 'clip.mp4', path: clip },
      );
      assert.equal(res.status, 200, JSON.stringify(res.json));
    }
    await waitFor('every job done', async () => {
      const states = await Promise.all(ids.map((id) => processingState(url, id)));
      return states.every((s) => s === 'done');
    });
    const counts = doneCounts(workers);
    for (const id of ids) assert.equal(counts.get(id), 1, `${id} finished once`);
  });
}

test('a worker SIGKILLed mid-job: another worker takes the job once its lock lapses and finishes it', async (t) => {
  const redis = await startRedis(t);
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'ingest-data');
  const env = { ...QUEUE_ENV, QUEUE_URL: redis.url };
  const { url } = await startIngestProcess(t, {
    script: 'src/cli/main.ts',
    args: ['ingest', '--port', '0', '--data-dir', dataDir],
    env,
  });
  const first = await startWorker(t, env, dataDir);
  // Long enough that the first worker is still on it when it is killed.
  const clip = await makeClip(path.join(dir, 'long.mp4'), { seconds: 40, width: 640, height: 360 });
  const res = await postUpload(
    url,
    { task_id: 'killed-mid-job', auto_process: 'true' },
    { name: 'long.mp4', path: clip },
  );
  assert.equal(res.status, 200);
  await waitFor('the first worker to start the job', () =>
    first.logs.some((l) => l.msg === 'processing started' && l.taskId === 'killed-mid-job'),
  );
  // Killed at once: the job is only started (probe), far from done.
  first.child.kill('SIGKILL');
  const second = await startWorker(t, env, dataDir);
  await waitFor('the job done', async () => (await processingState(url, 'killed-mid-job')) === 'done');
  assert.equal(doneCounts([first]).get('killed-mid-job'), undefined, 'the killed worker did not finish it');
  assert.equal(doneCounts([first, second]).get('killed-mid-job'), 1);
  assert.ok(
    second.logs.some(
      (l) => l.msg === 'queue job finished' && l.taskId === 'killed-mid-job' && l.outcome === 'done',
    ),
    'the second worker finished it',
  );
});

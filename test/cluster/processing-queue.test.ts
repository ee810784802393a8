import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import test, { type TestContext } from 'node:test';
import { ProcessingQueue } from '../../src/cluster/index.js';
import type { QueueConfig } from '../../src/config/index.js';
import { startPostgres } from '../helpers/postgres.js';
import { startRedis } from '../helpers/redis.js';

const root = path.resolve(import.meta.dirname, '../..');

function queueConfig(backend: QueueConfig['backend'], url: string): QueueConfig {
  // Short locks so that a dead worker's job is taken over within a few seconds.
  return {
    backend,
    url,
    attempts: 3,
    backoffMs: 100,
    lockDurationMs: 1500,
    stalledIntervalMs: 500,
    maxStalledCount: 2,
  };
}

async function backends(t: TestContext): Promise<Array<[string, QueueConfig]>> {
  const [pg, redis] = await Promise.all([startPostgres(t), startRedis(t)]);
  return [
    ['PostgreSQL', queueConfig('postgres', pg.url)],
    ['Redis', queueConfig('redis', redis.url)],
  ];
}

test('a run added twice (two ingest nodes, a retried request) is processed once, on both backends', async (t) => {
  for (const [name, config] of await backends(t)) {
    const queue = new ProcessingQueue(config);
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      queue.work(async (data) => {
        seen.push(data.taskId);
        if (data.taskId === 'last') resolve();
      }, 2);
    });
    await queue.add('task-a', 1);
    await queue.add('task-a', 1);
    await queue.add('task-a', 2); // a rerun asked for later is a new job
    await new Promise((r) => setTimeout(r, 500));
    await queue.add('last', 1);
    await done;
    assert.deepEqual(seen.sort(), ['last', 'task-a', 'task-a'], name);
    await queue.close();
  }
});

test('a job whose worker process is killed mid-job is taken by another worker once its lock lapses', async (t) => {
  for (const [name, config] of await backends(t)) {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'test/cluster/fixtures/stuck-worker.ts')],
      {
        cwd: root,
        env: { ...process.env, QUEUE_CONFIG: JSON.stringify(config) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    t.after(() => child.kill('SIGKILL'));
    const queue = new ProcessingQueue(config);
    await queue.add('task-b', 1);
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => d.toString().includes('took task-b') && resolve()),
    );
    child.kill('SIGKILL');
    const taken = new Promise<string>((resolve) => queue.work(async (data) => resolve(data.taskId), 1));
    assert.equal(await taken, 'task-b', name);
    // Let the second worker's completion land before closing.
    await new Promise((r) => setTimeout(r, 200));
    const counts = await queue.counts();
    assert.equal(counts.active + counts.waiting + counts.failed, 0, `${name}: nothing left behind`);
    await queue.close();
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../../src/logging/index.js';
import { openDatabase, stationMigrations, UploadTaskRepository } from '../../src/store/index.js';
import { UploadScheduler, type RunningAttempt } from '../../src/uploads/upload-scheduler.js';
import { toTask } from '../../src/uploads/task-view.js';
import { tempDir } from '../helpers/temp-dir.js';
import { insertTask } from './upload-fixtures.js';

async function waitUntil(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(10);
  }
}

/** A scheduler whose attempts are held open until the test lets them finish. */
async function setup(
  t: import('node:test').TestContext,
  concurrency = 2,
  options: { dbFile?: string; leaseMs?: number } = {},
) {
  const db = openDatabase(options.dbFile ?? path.join(await tempDir(t), 'streamai.db'), stationMigrations);
  const finishedElsewhere: string[] = [];
  const repo = new UploadTaskRepository(db);
  const started: string[] = [];
  const gates = new Map<string, () => void>();
  const runs = new Map<string, RunningAttempt>();
  const scheduler = new UploadScheduler({
    repo,
    concurrency,
    leaseMs: options.leaseMs ?? 30_000,
    logger: silentLogger(),
    runAttempt: async (taskId, run) => {
      started.push(taskId);
      runs.set(taskId, run);
      await new Promise<void>((resolve) => {
        gates.set(taskId, resolve);
        run.controller.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      repo.update(taskId, { state: 'completed' }, new Date().toISOString());
    },
    onFinishedElsewhere: (task) => finishedElsewhere.push(task.id),
  });
  t.after(async () => {
    await scheduler.close();
    db.close();
  });
  return { repo, scheduler, started, gates, runs, finishedElsewhere };
}

test('the scheduler picks up unfinished tasks at start, oldest first, never more at once than allowed', async (t) => {
  const { repo, scheduler, started, gates } = await setup(t, 2);
  for (const id of ['task_a', 'task_b', 'task_c']) insertTask(repo, { id, state: 'uploading' });
  insertTask(repo, { id: 'task_done', state: 'completed' });

  scheduler.start();
  await waitUntil('two attempts run', () => started.length === 2);
  await sleep(50);
  assert.deepEqual(started, ['task_a', 'task_b'], 'the third waits for a free slot');
  gates.get('task_a')?.();
  await waitUntil('the third starts', () => started.length === 3);
  assert.equal(started[2], 'task_c');
  assert.equal(started.includes('task_done'), false);
});

test('a task waiting to retry runs when its time comes, and not before', async (t) => {
  const { repo, scheduler, started } = await setup(t);
  const due = new Date(Date.now() + 300).toISOString();
  scheduler.start();
  scheduler.schedule(toTask(insertTask(repo, { id: 'task_later', state: 'retry_wait', nextAttemptAt: due })));
  await sleep(50);
  assert.deepEqual(started, [], 'not yet');
  await waitUntil('it runs', () => started.length === 1);
  assert.ok(Date.now() >= Date.parse(due));
});

test('unschedule drops a queued task; close interrupts running attempts as "close"', async (t) => {
  const { repo, scheduler, started, runs } = await setup(t, 1);
  scheduler.start();
  scheduler.schedule(toTask(insertTask(repo, { id: 'task_run', state: 'queued' })));
  scheduler.schedule(toTask(insertTask(repo, { id: 'task_drop', state: 'queued' })));
  scheduler.unschedule('task_drop');
  await waitUntil('the first runs', () => started.length === 1);
  await scheduler.close();
  assert.equal(runs.get('task_run')?.stop, 'close');
  assert.deepEqual(started, ['task_run']);
});

test('a task leased by a dead owner on another host is taken over once the lease expired', async (t) => {
  const { repo, scheduler, started } = await setup(t, 2, { leaseMs: 300 });
  insertTask(repo, { id: 'task_orphan', state: 'uploading', leaseOwner: 'old-container:4242:abcd' });
  const expires = Date.now() + 400;
  repo.update('task_orphan', { leaseExpiresAt: expires }, new Date().toISOString());

  scheduler.start();
  await sleep(100);
  assert.deepEqual(started, [], 'not while the lease runs');
  await waitUntil('it is taken over', () => started.length === 1);
  assert.ok(Date.now() >= expires);
  assert.equal(repo.get('task_orphan')?.leaseOwner, scheduler.owner);
});

test('a task leased by a process of this host that is gone is taken over at once; one of a live process waits', async (t) => {
  const { repo, scheduler, started } = await setup(t, 2, { leaseMs: 60_000 });
  // This host and pid namespace, as the scheduler's own owner id names them.
  const here = scheduler.owner.split(':').slice(1, 3).join(':');
  assert.match(here, /^[^:]+:\d+$/, `a host and a pid namespace: ${scheduler.owner}`);
  // A real process that has exited: its pid is certainly not running now (ESRCH).
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  const far = Date.now() + 3600_000;
  insertTask(repo, { id: 'task_dead', state: 'uploading', leaseOwner: `lease:${here}:${child.pid}:x` });
  repo.update('task_dead', { leaseExpiresAt: far }, new Date().toISOString());
  // This very process holds the other one (a second station on the same host, alive).
  insertTask(repo, {
    id: 'task_live',
    state: 'uploading',
    leaseOwner: `lease:${here}:${process.pid}:y`,
  });
  repo.update('task_live', { leaseExpiresAt: far }, new Date().toISOString());

  scheduler.start();
  await waitUntil('the dead process’s task is taken over', () => started.length === 1);
  assert.deepEqual(started, ['task_dead']);
  assert.equal(repo.get('task_dead')?.leaseOwner, scheduler.owner);
  await sleep(300);
  assert.deepEqual(started, ['task_dead'], 'the live process keeps its task');
});

test('a live owner renewing its lease keeps the task; the other scheduler waits and sees it finish', async (t) => {
  const dbFile = path.join(await tempDir(t), 'streamai.db');
  const a = await setup(t, 2, { dbFile, leaseMs: 150 });
  const b = await setup(t, 2, { dbFile, leaseMs: 150 });
  insertTask(a.repo, { id: 'task_held', state: 'queued' });
  a.scheduler.start();
  await waitUntil('A runs it', () => a.started.length === 1);

  b.scheduler.start();
  await sleep(1000); // several lease periods: only renewal keeps A's claim
  assert.deepEqual(b.started, [], 'B never took it over');
  const held = a.repo.get('task_held');
  assert.equal(held?.leaseOwner, a.scheduler.owner);
  assert.ok((held?.leaseExpiresAt ?? 0) > Date.now(), 'the lease was renewed');

  a.gates.get('task_held')?.();
  await waitUntil('B sees it finished', () => b.finishedElsewhere.includes('task_held'));
  assert.deepEqual(b.started, []);
});

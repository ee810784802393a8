import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ProcessingJobRepository } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { gone, makeTalkClip } from './processing-media.js';
import { makeService, openIngestDb, outcome } from './service-helpers.js';

test('a run whose lease is taken by someone else stops at its next renewal, kills its ffmpeg and writes no outcome', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'), { width: 1280, height: 720, rate: 30 });
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir, { leaseMs: 300 });
  t.after(() => service.close());
  const jobs = new ProcessingJobRepository(db);
  const webRunning = new Promise<void>((resolve) =>
    service.on('step', ({ step }) => {
      if (step.name === 'edit' && step.state === 'running') resolve();
    }),
  );
  const interrupted = new Promise<string>((resolve) =>
    service.once('interrupted', ({ reason }) => resolve(reason)),
  );
  let finished = false;
  service.on('done', () => (finished = true));
  service.on('failed', () => (finished = true));
  await service.start();
  await service.enqueue({ taskId: 'stolen', filePath: clip, outputDir: path.join(dir, 'out') });
  await webRunning;
  let pid: number | null = null;
  while (pid === null) {
    await delay(10);
    pid = jobs.get('stolen')?.childPid ?? null;
  }
  const row = jobs.get('stolen');
  assert.equal(row?.leaseOwner, service.owner);
  assert.ok((row?.leaseExpiresAt ?? 0) > Date.now(), 'the running job holds an unexpired lease');

  // Another instance took the job over (as it may once a lease has expired).
  db.prepare("UPDATE processing_jobs SET lease_owner = 'other-host/9/zzzz' WHERE task_id = 'stolen'").run();
  assert.equal(await interrupted, 'lease_lost');
  assert.ok(await gone(pid), 'its ffmpeg was killed');
  assert.equal(finished, false);
  const after = jobs.get('stolen');
  assert.equal(after?.state, 'processing', 'left to its new owner');
  assert.equal(after?.leaseOwner, 'other-host/9/zzzz');
});

test('a job held by an owner that stopped renewing is taken over when its lease expires, and resumed to the end', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const jobs = new ProcessingJobRepository(db);
  jobs.enqueue({ taskId: 'orphan', filePath: clip, outputDir: path.join(dir, 'out'), steps: [] }, new Date());
  // Claimed by an instance on another host that then went silent: its lease runs 600 ms more.
  const claimed = jobs.claimNext({ owner: 'other-host/9/zzzz', durationMs: 600 }, new Date());
  assert.equal(claimed?.attempt, 1);

  const service = makeService(db, dir, { leaseMs: 300 });
  t.after(() => service.close());
  const started: number[] = [];
  service.on('started', ({ attempt }) => started.push(attempt));
  const done = outcome(service, 'orphan');
  // The service's poll does not hold the process open (a server does); this test must.
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(() => clearInterval(keepAlive));
  await service.start();
  await delay(100);
  assert.deepEqual(started, [], 'a live lease of another host is respected');
  assert.equal(await done, 'done');
  assert.deepEqual(started, [2]);
  assert.equal(jobs.get('orphan')?.leaseOwner, null, 'a finished job holds no lease');
});

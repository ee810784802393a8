import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessingJobRepository } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { openIngestDb } from './service-helpers.js';

const at = (s: number): Date => new Date(Date.UTC(2026, 10, 25, 23, 0, s));
const A = { owner: 'host-a/1/aaaa', durationMs: 10_000 };
const B = { owner: 'host-b/2/bbbb', durationMs: 10_000 };

test('jobs are claimed oldest first, and a superseded run cannot overwrite the newer state', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const jobs = new ProcessingJobRepository(db);

  jobs.enqueue({ taskId: 'b', filePath: '/b.mkv', outputDir: '/b', steps: [] }, at(1));
  jobs.enqueue({ taskId: 'a', filePath: '/a.mkv', outputDir: '/a', steps: [] }, at(2));
  const first = jobs.claimNext(A, at(3));
  assert.equal(first?.taskId, 'b');
  assert.equal(first?.attempt, 1);
  assert.equal(first?.leaseOwner, A.owner);
  assert.equal(first?.leaseExpiresAt, at(3).getTime() + 10_000);
  assert.equal(first?.takenOver, false);
  assert.equal(jobs.claimNext(A, at(4), ['a']), undefined, 'an excluded task is not claimed');

  // Re-queued while running: the old run's writes no longer land.
  jobs.enqueue({ taskId: 'b', filePath: '/b.mkv', outputDir: '/b', steps: [] }, at(5));
  const oldRun = { taskId: 'b', attempt: 1, owner: A.owner };
  assert.equal(jobs.updateProgress(oldRun, 0.5, [], at(6)), false);
  assert.equal(jobs.renewLease(oldRun, 10_000, at(6)), false);
  assert.equal(jobs.complete(oldRun, { steps: [], report: { x: 1 }, outputs: [] }, at(6)), false);
  assert.equal(jobs.get('b')?.state, 'queued');
  assert.equal(jobs.get('b')?.leaseOwner, null);

  const second = jobs.claimNext(A, at(7), ['a']);
  assert.equal(second?.attempt, 2);
  const run = { taskId: 'b', attempt: 2, owner: A.owner };
  assert.equal(
    jobs.fail(run, { steps: [], outputs: [], error: { code: 'CORRUPT_MEDIA', message: 'cut' } }, at(8)),
    true,
  );
  assert.deepEqual(jobs.get('b')?.error, { code: 'CORRUPT_MEDIA', message: 'cut' });
  assert.equal(jobs.get('b')?.state, 'failed');
  assert.equal(jobs.get('b')?.leaseOwner, null, 'a finished job holds no lease');

  // The schema refuses a state outside the machine.
  assert.throws(() => db.prepare("UPDATE processing_jobs SET state = 'lost' WHERE task_id = 'a'").run());
});

test('a lease expires unless renewed: then another owner takes the job over, and the old owner can no longer write', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const jobs = new ProcessingJobRepository(db);
  jobs.enqueue({ taskId: 'j', filePath: '/j.mkv', outputDir: '/j', steps: [] }, at(0));
  const mine = jobs.claimNext(A, at(1));
  assert.equal(mine?.attempt, 1);
  const runA = { taskId: 'j', attempt: 1, owner: A.owner };

  // While the lease holds (renewed at 9 s, so it runs to 19 s), nobody else gets the job.
  assert.equal(jobs.claimNext(B, at(10)), undefined);
  assert.equal(jobs.renewLease(runA, 10_000, at(9)), true);
  assert.equal(jobs.claimNext(B, at(18)), undefined, 'a renewed lease is not expired');
  assert.equal(jobs.updateProgress(runA, 0.4, [{ name: 'probe' }], at(18)), true);

  // Not renewed any more: at 19 s it has expired and B takes it, with a new attempt.
  const taken = jobs.claimNext(B, at(19));
  assert.equal(taken?.taskId, 'j');
  assert.equal(taken?.attempt, 2);
  assert.equal(taken?.takenOver, true);
  assert.equal(taken?.leaseOwner, B.owner);
  assert.deepEqual(taken?.steps, [{ name: 'probe' }], 'the finished steps go with the job, to resume');

  // A's late writes are refused: renewal tells it to stop.
  assert.equal(jobs.renewLease(runA, 10_000, at(20)), false);
  assert.equal(jobs.updateProgress(runA, 0.9, [], at(20)), false);
  assert.equal(jobs.complete(runA, { steps: [], report: {}, outputs: [] }, at(20)), false);
  assert.equal(jobs.requeue(runA, at(20)), false);
  // Even with A's attempt number, a write naming another owner is refused.
  assert.equal(jobs.setChildPid({ taskId: 'j', attempt: 2, owner: A.owner }, 123), false);

  const runB = { taskId: 'j', attempt: 2, owner: B.owner };
  assert.equal(jobs.complete(runB, { steps: [], report: { ok: true }, outputs: [] }, at(21)), true);
  assert.equal(jobs.get('j')?.state, 'done');
  assert.equal(jobs.claimNext(A, at(100)), undefined, 'a done job is never claimed');
});

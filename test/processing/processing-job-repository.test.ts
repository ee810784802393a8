import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProcessingJobRepository } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { openIngestDb } from './service-helpers.js';

test('jobs are claimed oldest first, and a superseded run cannot overwrite the newer state', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const jobs = new ProcessingJobRepository(db);
  const at = (s: number): Date => new Date(Date.UTC(2026, 10, 25, 23, 0, s));

  jobs.enqueue({ taskId: 'b', filePath: '/b.mkv', outputDir: '/b', steps: [] }, at(1));
  jobs.enqueue({ taskId: 'a', filePath: '/a.mkv', outputDir: '/a', steps: [] }, at(2));
  const first = jobs.claimNext(at(3));
  assert.equal(first?.taskId, 'b');
  assert.equal(first?.attempt, 1);
  assert.equal(jobs.claimNext(at(4), ['a']), undefined, 'an excluded task is not claimed');

  // Re-queued while running: the old run's writes no longer land.
  jobs.enqueue({ taskId: 'b', filePath: '/b.mkv', outputDir: '/b', steps: [] }, at(5));
  assert.equal(jobs.updateProgress('b', 1, 0.5, [], at(6)), false);
  assert.equal(jobs.complete('b', 1, { steps: [], report: { x: 1 }, outputs: [] }, at(6)), false);
  assert.equal(jobs.get('b')?.state, 'queued');

  const second = jobs.claimNext(at(7), ['a']);
  assert.equal(second?.attempt, 2);
  assert.equal(
    jobs.fail('b', 2, { steps: [], outputs: [], error: { code: 'CORRUPT_MEDIA', message: 'cut' } }, at(8)),
    true,
  );
  assert.deepEqual(jobs.get('b')?.error, { code: 'CORRUPT_MEDIA', message: 'cut' });
  assert.equal(jobs.get('b')?.state, 'failed');

  // The schema refuses a state outside the machine.
  assert.throws(() => db.prepare("UPDATE processing_jobs SET state = 'lost' WHERE task_id = 'a'").run());
});

// One contract for the ingest state, run against both backends (SQLite and a real PostgreSQL):
// the same calls must give the same answers, so the ingest server behaves the same on either.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BeginReceivingInput } from '../../src/store/index.js';
import { pgTestServer, stateBackends } from './ingest-state-backends.js';

const pgServer = pgTestServer();

function upload(
  taskId: string,
  uploadRef: string,
  extra: Partial<BeginReceivingInput> = {},
): BeginReceivingInput {
  return {
    taskId,
    protocol: 'tus',
    uploadRef,
    fileName: 'talk.mkv',
    sessionName: 'Talk',
    autoProcess: true,
    uploadTime: '2026-12-01 18:00:00',
    declaredSize: 1000,
    declaredSha256: null,
    ...extra,
  };
}
const file = { fileName: 'talk.mkv', fileSize: 1000, sha256: 'a'.repeat(64), filePath: 't/talk.mkv' };
const at = (ms: number): Date => new Date(Date.UTC(2026, 11, 1, 18, 0, 0, ms));

for (const backend of stateBackends(pgServer)) {
  test(`${backend.name}: a task goes receiving → received once; later uploads of it change nothing`, async (t) => {
    const { tasks } = await backend.open(t);
    assert.equal(await tasks.get('t1'), undefined);
    assert.equal(await tasks.beginReceiving(upload('t1', 'up-a', { ownerKeySha256: 'k1' }), at(0)), true);
    // A second unfinished upload of the same task takes it over while it is still receiving.
    assert.equal(await tasks.beginReceiving(upload('t1', 'up-b', { ownerKeySha256: 'k1' }), at(1)), true);
    assert.equal((await tasks.getByUploadRef('up-b'))?.taskId, 't1');
    assert.equal(await tasks.declareSha256('t1', 'up-a', 'b'.repeat(64)), false, 'not the owning upload');
    assert.equal(await tasks.declareSha256('t1', 'up-b', 'b'.repeat(64)), true);
    assert.deepEqual(
      (await tasks.listReceiving('tus')).map((x) => x.taskId),
      ['t1'],
    );
    const received = await tasks.markReceived(upload('t1', 'up-b', { ownerKeySha256: 'k1' }), file, at(2));
    assert.equal(received, true);
    const task = await tasks.get('t1');
    assert.equal(task?.state, 'received');
    assert.equal(task?.fileSize, 1000);
    assert.equal(task?.sha256, file.sha256);
    assert.equal(task?.declaredSha256, 'b'.repeat(64), 'the declared digest is kept');
    assert.equal(task?.autoProcess, true);
    assert.equal(task?.ownerKeySha256, 'k1');
    assert.equal(task?.completedAt, at(2).toISOString());
    assert.equal(task?.createdAt, at(0).toISOString());
    assert.equal(await tasks.markReceived(upload('t1', 'up-c'), file, at(3)), false, 'received once');
    assert.equal(await tasks.beginReceiving(upload('t1', 'up-c'), at(3)), false);
    assert.equal(await tasks.deleteReceiving('t1', 'up-b'), false, 'a received task is never forgotten');
    assert.deepEqual(await tasks.listReceiving('tus'), []);
  });

  test(`${backend.name}: recent tasks newest first, by owner, parts left out; a multipart upload is forgotten`, async (t) => {
    const { tasks } = await backend.open(t);
    await tasks.beginReceiving(upload('a', 'r-a', { ownerKeySha256: 'k1' }), at(0));
    await tasks.beginReceiving(upload('b', 'r-b', { ownerKeySha256: 'k2' }), at(1));
    await tasks.beginReceiving(upload('c', 'r-c'), at(1));
    await tasks.beginReceiving(upload('m', 'r-m', { protocol: 'multipart' }), at(2));
    await tasks.beginReceiving(upload('rec.part-0', 'r-p', { partOf: 'rec', partIndex: 0 }), at(3));
    assert.deepEqual(
      (await tasks.listRecent(10)).map((x) => x.taskId),
      ['m', 'c', 'b', 'a'],
    );
    assert.deepEqual(
      (await tasks.listRecent(10, 'k1')).map((x) => x.taskId),
      ['m', 'c', 'a'],
    );
    assert.deepEqual(
      (await tasks.listRecent(2)).map((x) => x.taskId),
      ['m', 'c'],
    );
    assert.deepEqual(
      (await tasks.listReceiving('multipart')).map((x) => x.taskId),
      ['m'],
    );
    assert.equal(await tasks.deleteReceiving('m', 'someone-else'), false);
    assert.equal(await tasks.deleteReceiving('m', 'r-m'), true);
    assert.equal(await tasks.get('m'), undefined);
  });

  test(`${backend.name}: a segmented recording's task and its parts`, async (t) => {
    const { tasks } = await backend.open(t);
    const recording = {
      taskId: 'rec',
      protocol: 'tus' as const,
      fileName: 'rec.mkv',
      sessionName: null,
      autoProcess: true,
      uploadTime: null,
      recordingId: 'r-42',
    };
    const opened = await tasks.openRecording({ ...recording, partsExpected: null }, at(0));
    assert.equal(opened?.uploadRef, 'parts');
    assert.equal(opened?.partsExpected, null);
    assert.equal((await tasks.openRecording({ ...recording, partsExpected: 2 }, at(1)))?.partsExpected, 2);
    assert.equal(
      (await tasks.openRecording({ ...recording, partsExpected: null }, at(2)))?.partsExpected,
      2,
      'a later part without the count keeps it',
    );
    for (const index of [1, 0]) {
      const id = `rec.part-${index}`;
      const part = upload(id, `p${index}`, { partOf: 'rec', partIndex: index, recordingId: 'r-42' });
      await tasks.beginReceiving(part, at(3));
      await tasks.markReceived(part, { ...file, filePath: `.parts/${id}/talk.mkv` }, at(4));
    }
    assert.deepEqual(
      (await tasks.listParts('rec')).map((p) => [p.partIndex, p.state]),
      [
        [0, 'received'],
        [1, 'received'],
      ],
    );
    assert.deepEqual(
      (await tasks.listOpenRecordings()).map((x) => x.taskId),
      ['rec'],
    );
    assert.deepEqual(await tasks.listReceiving('tus'), [], "a recording's own task is not an upload");
    await tasks.markReceived({ ...recording, uploadRef: 'parts' }, { ...file, fileName: 'rec.mkv' }, at(5));
    assert.deepEqual(await tasks.listOpenRecordings(), []);
    assert.equal((await tasks.get('rec'))?.partsExpected, 2);
  });

  test(`${backend.name}: jobs are claimed oldest first under a lease; every write names its run`, async (t) => {
    const { jobs } = await backend.open(t);
    const steps = [{ name: 'probe', state: 'pending' }];
    await jobs.enqueue({ taskId: 'j1', filePath: '/d/j1.mkv', outputDir: '/d/j1', steps }, at(0));
    await jobs.enqueue({ taskId: 'j2', filePath: '/d/j2.mkv', outputDir: '/d/j2', steps }, at(1));
    assert.equal((await jobs.get('j1'))?.state, 'queued');
    assert.deepEqual((await jobs.get('j1'))?.steps, steps);
    const lease = { owner: 'node-a', durationMs: 30_000 };
    assert.equal((await jobs.claimNext(lease, at(5), ['j1']))?.taskId, 'j2', 'excluded tasks are skipped');
    assert.equal(await jobs.claimNext(lease, at(5), [], 'j2'), undefined, 'j2 is taken');
    const run1 = await jobs.claimNext(lease, at(6));
    assert.equal(run1?.taskId, 'j1');
    assert.equal(run1?.attempt, 1);
    assert.equal(run1?.takenOver, false);
    assert.equal(run1?.leaseExpiresAt, at(6).getTime() + 30_000);
    assert.equal(await jobs.claimNext(lease, at(7)), undefined, 'nothing else is queued');
    const ref = { taskId: 'j1', attempt: 1, owner: 'node-a' };
    assert.equal(await jobs.updateProgress(ref, 0.5, [{ name: 'probe', state: 'done' }], at(8)), true);
    assert.equal(await jobs.setChildPid(ref, 4242), true);
    assert.equal((await jobs.get('j1'))?.childPid, 4242);
    assert.equal(await jobs.updateProgress({ ...ref, attempt: 2 }, 0.9, [], at(8)), false, 'another run');
    assert.equal(await jobs.renewLease({ ...ref, owner: 'node-b' }, 30_000, at(8)), false, 'another owner');
    const report = { original_duration: 10 };
    assert.equal(
      await jobs.complete(ref, { steps: [], report, outputs: [{ name: 'web.mp4', size: 5 }] }, at(9)),
      true,
    );
    const done = await jobs.get('j1');
    assert.equal(done?.state, 'done');
    assert.equal(done?.progress, 1);
    assert.deepEqual(done?.report, report);
    assert.deepEqual(done?.outputs, [{ name: 'web.mp4', size: 5 }]);
    assert.equal(done?.leaseOwner, null);
    assert.equal(done?.finishedAt, at(9).toISOString());
    assert.equal(
      await jobs.complete(ref, { steps: [], report, outputs: [] }, at(10)),
      false,
      'finished once',
    );
    const failing = { taskId: 'j2', attempt: 1, owner: 'node-a' };
    const error = { code: 'CORRUPT_MEDIA', message: 'bad file' };
    assert.equal(await jobs.fail(failing, { steps: [], outputs: [], error }, at(10)), true);
    assert.deepEqual((await jobs.get('j2'))?.error, error);
    assert.deepEqual(
      (await jobs.listByState('done')).map((j) => j.taskId),
      ['j1'],
    );
    // A re-queue starts over: results dropped, attempt kept growing on the next claim.
    await jobs.enqueue({ taskId: 'j1', filePath: '/d/j1.mkv', outputDir: '/d/j1', steps }, at(11));
    const rerun = await jobs.get('j1');
    assert.equal(rerun?.state, 'queued');
    assert.equal(rerun?.report, null);
    assert.deepEqual(rerun?.outputs, []);
    assert.equal((await jobs.claimNext(lease, at(12)))?.attempt, 2);
  });

  test(`${backend.name}: an expired lease is taken over; the old owner's writes then change nothing`, async (t) => {
    const { jobs } = await backend.open(t);
    await jobs.enqueue({ taskId: 'x', filePath: '/d/x', outputDir: '/d/x-out', steps: [] }, at(0));
    const first = await jobs.claimNext({ owner: 'node-a', durationMs: 1000 }, at(0));
    assert.equal(first?.attempt, 1);
    const b = { owner: 'node-b', durationMs: 1000 };
    assert.equal(await jobs.claimNext(b, at(999)), undefined, 'a live lease is respected');
    const taken = await jobs.claimNext(b, at(1000));
    assert.equal(taken?.takenOver, true);
    assert.equal(taken?.attempt, 2);
    assert.equal(taken?.leaseOwner, 'node-b');
    const old = { taskId: 'x', attempt: 1, owner: 'node-a' };
    assert.equal(await jobs.renewLease(old, 1000, at(1001)), false);
    assert.equal(await jobs.complete(old, { steps: [], report: {}, outputs: [] }, at(1002)), false);
    // The new owner stops (closing): the job goes back to the queue with its steps kept.
    const current = { taskId: 'x', attempt: 2, owner: 'node-b' };
    await jobs.updateProgress(current, 0.3, [{ name: 'probe', state: 'done' }], at(1003));
    assert.equal(await jobs.requeue({ ...current, owner: 'node-a' }, at(1004)), false, 'not its lease');
    assert.equal(await jobs.requeue(current, at(1004)), true);
    const back = await jobs.get('x');
    assert.equal(back?.state, 'queued');
    assert.equal(back?.leaseOwner, null);
    assert.deepEqual(back?.steps, [{ name: 'probe', state: 'done' }]);
  });

  test(`${backend.name}: the webhook queue stores an event once and leases its deliveries`, async (t) => {
    const { webhooks } = await backend.open(t);
    const event = {
      id: 'evt_1',
      type: 'upload.completed',
      time: at(0).toISOString(),
      body: '{"id":"evt_1"}',
      summary: 's',
    };
    const targets = [
      { kind: 'webhook' as const, url: 'http://127.0.0.1:1/hook' },
      { kind: 'ntfy' as const, url: 'http://127.0.0.1:1/topic' },
    ];
    const now = at(0).getTime();
    assert.equal(await webhooks.addEvent(event, targets, now), true);
    assert.equal(await webhooks.addEvent(event, targets, now), false, 'the same event id again is ignored');
    assert.deepEqual(await webhooks.getEvent('evt_1'), event);
    assert.equal(await webhooks.nextDueAt(), now);
    const d1 = await webhooks.claimNext('node-a', now, 60_000);
    assert.equal(d1?.attempts, 1);
    assert.equal(d1?.state, 'delivering');
    const d2 = await webhooks.claimNext('node-b', now, 60_000);
    assert.ok(d1 && d2 && d1.id !== d2.id, 'two claims take two deliveries');
    assert.equal(await webhooks.claimNext('node-c', now, 60_000), undefined);
    assert.equal(await webhooks.renewLease(d1.id, 'node-b', now + 90_000), false);
    assert.equal(await webhooks.renewLease(d1.id, 'node-a', now + 90_000), true);
    const attempt = { at: at(5).toISOString(), status: 200, error: null, durationMs: 12 };
    assert.equal(await webhooks.finishAttempt(d1.id, 'node-a', attempt, { state: 'delivered' }), true);
    assert.equal(await webhooks.finishAttempt(d1.id, 'node-a', attempt, { state: 'delivered' }), false);
    const failed = { at: at(6).toISOString(), status: 500, error: 'HTTP 500', durationMs: 3 };
    assert.equal(
      await webhooks.finishAttempt(d2.id, 'node-b', failed, { state: 'pending', retryAt: now + 5000 }),
      true,
    );
    assert.deepEqual(await webhooks.countByState(), { pending: 1, delivering: 0, delivered: 1, failed: 0 });
    assert.equal(await webhooks.nextDueAt(), now + 5000);
    assert.equal(await webhooks.claimNext('node-a', now + 4999, 60_000), undefined, 'not due yet');
    assert.equal((await webhooks.claimNext('node-a', now + 5000, 60_000))?.attempts, 2);
    const [listed] = await webhooks.listEvents(10);
    assert.equal(listed?.id, 'evt_1');
    assert.deepEqual(
      listed?.deliveries.map((d) => [d.target.kind, d.state, d.log.map((a) => a.status)]),
      [
        ['webhook', 'delivered', [200]],
        ['ntfy', 'delivering', [500]],
      ],
    );
    assert.equal(listed?.deliveries[0]?.log[0]?.durationMs, 12);
    assert.equal(await webhooks.getCursor('ingest.received'), undefined);
    await webhooks.setCursor('ingest.received', 'x');
    await webhooks.setCursor('ingest.received', 'y');
    assert.equal(await webhooks.getCursor('ingest.received'), 'y');
  });

  test(`${backend.name}: rows are counted per state for the metrics`, async (t) => {
    const state = await backend.open(t);
    await state.tasks.beginReceiving(upload('a', 'r-a'), at(0));
    await state.tasks.beginReceiving(upload('b', 'r-b'), at(0));
    await state.tasks.markReceived(upload('b', 'r-b'), file, at(1));
    await state.jobs.enqueue({ taskId: 'b', filePath: '/b', outputDir: '/b-out', steps: [] }, at(2));
    assert.deepEqual(await state.countByState('ingest_tasks'), { receiving: 1, received: 1 });
    assert.deepEqual(await state.countByState('processing_jobs'), { queued: 1 });
  });
}

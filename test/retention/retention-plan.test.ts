import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepReason, planRetention, type RetentionCandidate } from '../../src/retention/index.js';

const SHA = 'a'.repeat(64);

function rec(id: string, recordedAt: string, changes: Partial<RetentionCandidate> = {}): RetentionCandidate {
  return {
    recordingId: id,
    sessionId: 'ses_1',
    sessionName: 'Talks',
    fileName: `${id}.mkv`,
    filePath: `/rec/${id}.mkv`,
    size: 400_000_000,
    state: 'ready',
    recordedAt,
    sha256: SHA,
    upload: { taskId: `task_${id}`, state: 'completed', confirmedSha256: SHA },
    ...changes,
  };
}

test('only a finalised recording whose sha256 the server confirmed may be deleted', () => {
  assert.equal(keepReason(rec('ok', '2026-01-01T00:00:00Z')), undefined);
  assert.equal(keepReason(rec('live', '2026-01-01T00:00:00Z', { state: 'recording' })), 'being recorded');
  assert.equal(keepReason(rec('fin', '2026-01-01T00:00:00Z', { state: 'finalizing' })), 'not finalised');
  assert.equal(keepReason(rec('gone', '2026-01-01T00:00:00Z', { filePath: null })), 'no local file');
  assert.equal(keepReason(rec('none', '2026-01-01T00:00:00Z', { upload: null })), 'not uploaded');
  const up = (state: string, confirmedSha256: string | null = SHA): Partial<RetentionCandidate> => ({
    upload: { taskId: 't', state, confirmedSha256 },
  });
  assert.equal(keepReason(rec('f', '2026-01-01T00:00:00Z', up('failed'))), 'upload failed');
  assert.equal(keepReason(rec('c', '2026-01-01T00:00:00Z', up('cancelled'))), 'upload failed');
  assert.equal(keepReason(rec('u', '2026-01-01T00:00:00Z', up('uploading'))), 'upload not finished');
  // A server of the original's kind reports no digest; a compressed upload confirms another one.
  assert.equal(
    keepReason(rec('n', '2026-01-01T00:00:00Z', up('completed', null))),
    'server did not confirm the sha256',
  );
  assert.equal(
    keepReason(rec('z', '2026-01-01T00:00:00Z', up('completed', 'b'.repeat(64)))),
    'server did not confirm the sha256',
  );
});

test('a recording sent in parts may be deleted once every part was confirmed, and the reason says so', () => {
  // The server's join and the station's differ in bytes (muxer headers), so the task's digest
  // (the server's joined file) is not the local file's; the parts' digests are what was checked.
  const parts = (confirmedParts: number | null): Partial<RetentionCandidate> => ({
    upload: { taskId: 'tp', state: 'completed', confirmedSha256: 'c'.repeat(64), confirmedParts },
  });
  assert.equal(keepReason(rec('p', '2026-01-01T00:00:00Z', parts(4))), undefined);
  assert.equal(
    keepReason(rec('q', '2026-01-01T00:00:00Z', parts(null))),
    'server did not confirm the sha256',
  );
  const plan = planRetention(
    { kind: 'max-gb', gigabytes: 0.1 },
    [rec('p', '2026-01-01T00:00:00Z', parts(4))],
    new Date('2026-01-02'),
  );
  assert.match(
    plan.due[0]!.reason,
    /sent in 4 parts, each sha256 confirmed by the server and joined there \(tp\)/,
  );
});

test('keep deletes nothing', () => {
  const plan = planRetention({ kind: 'keep' }, [rec('a', '2020-01-01T00:00:00Z')], new Date('2026-01-01'));
  assert.deepEqual(plan.due, []);
  assert.deepEqual(plan.upcoming, []);
});

test('delete-after-days:N deletes confirmed recordings older than N days and lists the next ones with their date', () => {
  const now = new Date('2026-03-10T12:00:00Z');
  const plan = planRetention(
    { kind: 'delete-after-days', days: 7 },
    [
      rec('new', '2026-03-08T10:00:00Z'),
      rec('old', '2026-03-01T10:00:00Z'),
      rec('failed', '2026-01-01T10:00:00Z', {
        upload: { taskId: 't', state: 'failed', confirmedSha256: null },
      }),
    ],
    now,
  );
  assert.deepEqual(
    plan.due.map((d) => d.candidate.recordingId),
    ['old'],
  );
  assert.match(
    plan.due[0]!.reason,
    /delete-after-days:7: recorded 2026-03-01, sha256 aaaaaaaaaaaa… confirmed by the server \(task_old\)/,
  );
  assert.deepEqual(
    plan.upcoming.map((d) => [d.candidate.recordingId, d.dueAt]),
    [['new', '2026-03-15T10:00:00.000Z']],
  );
  assert.deepEqual(
    plan.kept.map((k) => [k.candidate.recordingId, k.why]),
    [['failed', 'upload failed']],
  );
});

test('max-gb:N deletes the oldest confirmed recordings until the local total fits, counting files it may not delete', () => {
  // 4 × 0.4 GB = 1.6 GB local; limit 1 GB. The oldest is being kept (upload failed), so the next two go.
  const plan = planRetention(
    { kind: 'max-gb', gigabytes: 1 },
    [
      rec('r1', '2026-01-01T00:00:00Z', { upload: { taskId: 't1', state: 'failed', confirmedSha256: null } }),
      rec('r2', '2026-01-02T00:00:00Z'),
      rec('r3', '2026-01-03T00:00:00Z'),
      rec('r4', '2026-01-04T00:00:00Z', { state: 'recording', upload: null }),
    ],
    new Date('2026-01-05T00:00:00Z'),
  );
  assert.equal(plan.localBytes, 1_600_000_000);
  assert.deepEqual(
    plan.due.map((d) => d.candidate.recordingId),
    ['r2', 'r3'],
  );
  assert.match(plan.due[0]!.reason, /max-gb:1: local recordings used 1\.600 GB/);
  assert.deepEqual(plan.upcoming, []);
  assert.deepEqual(
    plan.kept.map((k) => k.why),
    ['upload failed', 'being recorded'],
  );
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AppError } from '../../src/errors/index.js';
import { openDatabase, stationMigrations, UploadTaskRepository } from '../../src/store/index.js';
import {
  TRANSITIONS,
  isRetryable,
  parseRetryAfter,
  retryDelayMs,
  type UploadState,
} from '../../src/uploads/index.js';
import { errorFromAnswer } from '../../src/uploads/http-client.js';
import { multipartFrame } from '../../src/uploads/multipart-transport.js';
import { tusMetadata } from '../../src/uploads/tus-transport.js';
import { tempDir } from '../helpers/temp-dir.js';

const timings = {
  retryBaseDelayMs: 1000,
  retryMaxDelayMs: 60_000,
  insufficientStorageDelayMs: 300_000,
  retryAfterMaxMs: 900_000,
};
const answer = (status: number, headers: Record<string, string> = {}) => ({ status, headers, text: '' });

test('temporary failures are retried and the ones a user must fix are not', () => {
  for (const status of [500, 502, 503, 504, 429, 507]) {
    assert.equal(isRetryable(errorFromAnswer(answer(status), 'upload')), true, `HTTP ${status}`);
  }
  for (const status of [400, 401, 409, 413, 415, 422]) {
    assert.equal(isRetryable(errorFromAnswer(answer(status), 'upload')), false, `HTTP ${status}`);
  }
  assert.equal(isRetryable(new AppError('SERVER_UNREACHABLE', 'x')), true);
  assert.equal(isRetryable(new AppError('UPLOAD_STALLED', 'x')), true);
  assert.equal(isRetryable(new AppError('NOT_A_MEDIA_FILE', 'x')), false);
});

test('refusals tell the user what to do', () => {
  assert.match(errorFromAnswer(answer(401), 'upload').message, /VULTR_API_KEY/);
  assert.match(errorFromAnswer(answer(413), 'upload').message, /VULTR_COMPRESS|limit/);
  assert.equal(errorFromAnswer(answer(422), 'upload').code, 'CHECKSUM_MISMATCH');
});

test('backoff doubles up to its cap, with jitter, and honours Retry-After and 507', () => {
  const err = new AppError('SERVER_ERROR', 'x');
  assert.equal(
    retryDelayMs(err, 1, timings, () => 0),
    500,
  );
  assert.equal(
    retryDelayMs(err, 1, timings, () => 1),
    1000,
  );
  assert.equal(
    retryDelayMs(err, 3, timings, () => 1),
    4000,
  );
  assert.equal(
    retryDelayMs(err, 30, timings, () => 1),
    60_000,
  );
  const limited = errorFromAnswer(answer(429, { 'retry-after': '120' }), 'upload');
  assert.equal(
    retryDelayMs(limited, 1, timings, () => 0),
    120_000,
  );
  const full = errorFromAnswer(answer(507), 'upload');
  assert.equal(
    retryDelayMs(full, 1, timings, () => 0),
    300_000,
  );
  assert.equal(parseRetryAfter('7'), 7000);
  assert.equal(parseRetryAfter(new Date(Date.now() + 10_000).toUTCString(), Date.now()) !== undefined, true);
  assert.equal(parseRetryAfter('soon'), undefined);
});

test('finished tasks only leave their state through retry, and completed never does', () => {
  assert.deepEqual(TRANSITIONS.completed, []);
  assert.deepEqual(TRANSITIONS.failed, ['queued']);
  for (const state of Object.keys(TRANSITIONS) as UploadState[]) {
    if (state !== 'completed' && state !== 'failed' && state !== 'cancelled') {
      assert.ok(TRANSITIONS[state].includes('cancelled'), `${state} can be cancelled`);
    }
  }
});

test('tus metadata and the multipart frame carry names with spaces and accents intact', () => {
  const meta = tusMetadata({ filename: 'Réunion équipe.mkv', task_id: 'task_1', session_name: null });
  const pairs = Object.fromEntries(meta.split(',').map((p) => p.split(' ')));
  assert.equal(Buffer.from(pairs.filename as string, 'base64').toString('utf8'), 'Réunion équipe.mkv');
  assert.equal('session_name' in pairs, false);

  const { head, tail } = multipartFrame(
    'BOUNDARY',
    { task_id: 'task_1', auto_process: 'false' },
    'Réunion équipe.mkv',
  );
  const text = head.toString('utf8');
  assert.match(text, /name="task_id"\r\n\r\ntask_1\r\n/);
  assert.match(
    text,
    /name="file"; filename="Réunion équipe.mkv"; filename\*=UTF-8''R%C3%A9union%20%C3%A9quipe\.mkv/,
  );
  assert.match(text, /Content-Type: video\/mp4\r\n\r\n$/);
  assert.equal(tail.toString(), '\r\n--BOUNDARY--\r\n');
});

test('tasks and their history survive reopening the database', async (t) => {
  const file = path.join(await tempDir(t), 'streamai.db');
  const db = openDatabase(file, stationMigrations);
  const repo = new UploadTaskRepository(db);
  const at = new Date().toISOString();
  repo.insert(
    {
      id: 'task_a', filePath: '/x/a.mkv', fileName: 'a.mkv', fileSize: 10, fileMtimeMs: 1.5, sessionName: null,
      recordingId: null, autoProcess: true, state: 'queued', attempts: 0, nextAttemptAt: null, bytesSent: 0,
      size: 10, sha256: null, protocol: null, remoteUrl: null, uploadPath: null, compressionRatio: null,
      lastErrorCode: null, lastErrorMessage: null, leaseOwner: null, createdAt: at, completedAt: null,
    },
    'enqueued',
  ); // prettier-ignore
  repo.update('task_a', { state: 'uploading', bytesSent: 4, remoteUrl: 'http://h/files/1' }, at, {
    state: 'uploading',
    message: 'go',
  });
  db.close();
  const again = new UploadTaskRepository(openDatabase(file, stationMigrations));
  const task = again.get('task_a');
  assert.equal(task?.state, 'uploading');
  assert.equal(task?.bytesSent, 4);
  assert.equal(task?.remoteUrl, 'http://h/files/1');
  assert.deepEqual(
    again.events('task_a').map((e) => [e.state, e.message]),
    [
      ['queued', 'enqueued'],
      ['uploading', 'go'],
    ],
  );
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { silentLogger } from '../../src/logging/index.js';
import { openDatabase, stationMigrations, UploadTaskRepository } from '../../src/store/index.js';
import type { UploadSettings } from '../../src/uploads/index.js';
import { TargetClients } from '../../src/uploads/target-clients.js';
import { AttemptPipeline } from '../../src/uploads/upload-attempt.js';
import { TaskMoves } from '../../src/uploads/task-moves.js';
import type { RunningAttempt } from '../../src/uploads/upload-scheduler.js';
import { freePort } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { insertTask, sha256Of, testSettings } from './upload-fixtures.js';

const OWNER = 'test-owner';

/** The pipeline alone, on a real database, with a task claimed by OWNER. */
async function pipelineFor(t: TestContext, dir: string, settings: UploadSettings) {
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  const repo = new UploadTaskRepository(db);
  const targets = new TargetClients(settings);
  const moved: string[] = [];
  const moves = new TaskMoves(repo, silentLogger(), (task) => moved.push(task.state));
  const pipeline = new AttemptPipeline({
    moves,
    settings,
    targets,
    limiter: undefined,
    logger: silentLogger(),
    emitProgress: () => undefined,
  });
  t.after(async () => {
    await targets.close();
    db.close();
  });
  const run = (): RunningAttempt => ({
    owner: OWNER,
    controller: new AbortController(),
    stop: undefined,
    done: Promise.resolve(),
  });
  return { repo, pipeline, moved, run };
}

async function queuedTask(repo: UploadTaskRepository, file: string, id: string) {
  const { stat } = await import('node:fs/promises');
  const info = await stat(file);
  return insertTask(repo, {
    id,
    filePath: file,
    fileName: path.basename(file),
    fileSize: info.size,
    fileMtimeMs: info.mtimeMs,
    size: info.size,
    leaseOwner: OWNER,
  });
}

test('one attempt validates, sends and confirms: queued → validating → uploading → completed', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { repo, pipeline, moved, run } = await pipelineFor(t, dir, testSettings(dir, ingest.url));
  await queuedTask(repo, file, 'task_pipeline1');

  await pipeline.run('task_pipeline1', run());

  assert.deepEqual(moved, ['validating', 'uploading', 'completed']);
  const task = repo.get('task_pipeline1');
  assert.equal(task?.sha256, await sha256Of(file));
  assert.equal(await sha256Of(path.join(ingest.dataDir, 'task_pipeline1', 'clip.mkv')), task?.sha256);
});

test('a temporary failure ends the attempt in retry_wait with the error and a due time', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska' });
  const port = await freePort();
  const { repo, pipeline, moved, run } = await pipelineFor(
    t,
    dir,
    testSettings(dir, `http://127.0.0.1:${port}`),
  );
  await queuedTask(repo, file, 'task_pipeline2');

  await pipeline.run('task_pipeline2', run());

  assert.deepEqual(moved, ['validating', 'retry_wait']);
  const task = repo.get('task_pipeline2');
  assert.equal(task?.lastErrorCode, 'SERVER_UNREACHABLE');
  assert.ok(task?.nextAttemptAt !== null && task?.attempts === 1);
});

test('an attempt whose lease another owner took writes nothing (guarded moves)', async (t) => {
  const dir = await tempDir(t);
  const file = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska' });
  const ingest = await startIngestServer(t);
  const { repo, pipeline, moved, run } = await pipelineFor(t, dir, testSettings(dir, ingest.url));
  await queuedTask(repo, file, 'task_pipeline3');
  repo.update('task_pipeline3', { leaseOwner: 'someone-else' }, new Date().toISOString());

  await pipeline.run('task_pipeline3', run());

  assert.deepEqual(moved, []);
  assert.equal(repo.get('task_pipeline3')?.state, 'queued');
  assert.deepEqual(
    repo.events('task_pipeline3').map((e) => e.state),
    ['queued'],
  );
});

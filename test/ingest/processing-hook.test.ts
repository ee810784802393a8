import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import type { ProcessingStatus, UploadProcessor } from '../../src/ingest/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { postUpload, tusCreate, tusPatch, tusRequest } from './ingest-support.js';

/** A processor that records what it is given and reports whatever state the test sets. */
class RecordingProcessor implements UploadProcessor {
  readonly jobs: Array<{ taskId: string; filePath: string; outputDir: string }> = [];
  readonly states = new Map<string, ProcessingStatus>();
  started = false;
  closed = false;
  async enqueue(job: { taskId: string; filePath: string; outputDir: string }): Promise<void> {
    this.jobs.push(job);
    this.states.set(job.taskId, { state: 'queued', progress: 0, steps: [], report: null, outputs: [] });
  }
  async status(taskId: string): Promise<ProcessingStatus | undefined> {
    return this.states.get(taskId);
  }
  async start(): Promise<void> {
    this.started = true;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

async function stateOf(
  url: string,
  taskId: string,
): Promise<{ state: string; processing: Record<string, unknown> }> {
  const res = await request(`${url}/status/${taskId}`);
  return (await res.body.json()) as { state: string; processing: Record<string, unknown> };
}

test('auto_process=true hands the verified file to the processor, and /status follows its state', async (t) => {
  const processor = new RecordingProcessor();
  const { url, dataDir, server } = await startIngestServer(t, { createProcessor: () => processor });
  assert.equal(processor.started, true);

  const data = Buffer.from('a recording to process');
  const res = await postUpload(url, { task_id: 'proc-1', auto_process: 'true' }, { name: 'talk.mkv', data });
  assert.equal(res.status, 200);
  assert.equal(processor.jobs.length, 1);
  const job = processor.jobs[0];
  assert.equal(job?.taskId, 'proc-1');
  assert.equal(job?.filePath, path.join(dataDir, 'proc-1', 'talk.mkv'));
  assert.equal(job?.outputDir, path.join(dataDir, 'proc-1', 'outputs'));
  await access(job?.filePath ?? '');

  assert.equal((await stateOf(url, 'proc-1')).state, 'processing');
  processor.states.set('proc-1', {
    state: 'done',
    progress: 1,
    steps: [{ name: 'probe', state: 'done' }],
    report: { time_saved: 3 },
    outputs: [{ name: 'web.mp4', size: 10 }],
  });
  const done = await stateOf(url, 'proc-1');
  assert.equal(done.state, 'done');
  assert.deepEqual(done.processing.report, { time_saved: 3 });
  assert.deepEqual(done.processing.outputs, [{ name: 'web.mp4', size: 10 }]);
  processor.states.set('proc-1', {
    state: 'failed',
    progress: 0.5,
    steps: [],
    report: null,
    outputs: [],
    error: { code: 'CORRUPT_MEDIA', message: 'cut short' },
  });
  const failed = await stateOf(url, 'proc-1');
  assert.equal(failed.state, 'failed');
  assert.deepEqual(failed.processing.error, { code: 'CORRUPT_MEDIA', message: 'cut short' });

  // The same upload again is not processed twice.
  await postUpload(url, { task_id: 'proc-1', auto_process: 'true' }, { name: 'talk.mkv', data });
  assert.equal(processor.jobs.length, 1);

  // tus uploads too.
  const created = await tusCreate(url, data.length, {
    filename: 't.mp4',
    task_id: 'proc-tus',
    auto_process: 'true',
  });
  assert.equal((await tusPatch(created.location ?? '', 0, data)).status, 204);
  assert.deepEqual(
    processor.jobs.map((j) => j.taskId),
    ['proc-1', 'proc-tus'],
  );

  await server.close();
  assert.equal(processor.closed, true);
});

test('auto_process=false, or no processor: the task stays "received" with an empty processing view', async (t) => {
  const processor = new RecordingProcessor();
  const { url } = await startIngestServer(t, { createProcessor: () => processor });
  await postUpload(
    url,
    { task_id: 'no-proc', auto_process: 'false' },
    { name: 'v.mp4', data: Buffer.from('x') },
  );
  assert.equal(processor.jobs.length, 0);
  const view = await stateOf(url, 'no-proc');
  assert.equal(view.state, 'received');
  assert.deepEqual(view.processing, { steps: [], progress: 0, report: null });

  const bare = await startIngestServer(t);
  await postUpload(
    bare.url,
    { task_id: 'bare', auto_process: 'true' },
    { name: 'v.mp4', data: Buffer.from('x') },
  );
  const bareView = await stateOf(bare.url, 'bare');
  assert.equal(bareView.state, 'received');
  assert.deepEqual(bareView.processing, { steps: [], progress: 0, report: null });
});

test('tus: an unfinished upload expires after INGEST_TUS_EXPIRATION and its task is forgotten', async (t) => {
  // Long enough that the first PATCH lands before expiry even on a loaded machine.
  const { url } = await startIngestServer(t, { tusExpirationMs: 2000 });
  const created = await tusCreate(url, 100, { filename: 'e.mp4', task_id: 'expiring' });
  assert.equal(created.status, 201);
  assert.equal((await tusPatch(created.location ?? '', 0, Buffer.alloc(10, 1))).status, 204);
  await new Promise((r) => setTimeout(r, 2300));
  const late = await tusPatch(created.location ?? '', 10, Buffer.alloc(10, 1));
  assert.ok([404, 410].includes(late.status), `status ${late.status}`);
  // The sweep (every second at this expiry) removes the bytes and the task.
  let status = 200;
  for (let i = 0; i < 40 && status !== 404; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const res = await request(`${url}/status/expiring`);
    status = res.statusCode;
    await res.body.dump();
  }
  assert.equal(status, 404);
  assert.equal((await tusRequest(created.location ?? '', 'HEAD', {})).status, 404);
});

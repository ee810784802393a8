import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { openAsBlob } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { loadConfig } from '../../src/config/index.js';
import { processorFromConfig, type ProcessingReport } from '../../src/processing/index.js';
import { startIngestProcess as startIngestChild } from '../helpers/ingest-process.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { tempDir } from '../helpers/temp-dir.js';
import { ProcessingJobRepository } from '../../src/store/index.js';
import { gone, makeTalkClip, probe } from './processing-media.js';
import { openIngestDb } from './service-helpers.js';

const KEY = 'processing-test-key';

interface StatusBody {
  task_id: string;
  state: string;
  processing: {
    state?: string;
    progress: number;
    steps: Array<{ name: string; state: string; progress: number }>;
    report: ProcessingReport | null;
    outputs?: Array<{ name: string; size: number }>;
    error?: { code: string; message: string };
  };
}

/** POST /upload as the original client does it: form fields, then the file. */
async function upload(url: string, file: string, taskId: string, key?: string): Promise<Response> {
  const form = new FormData();
  form.set('task_id', taskId);
  form.set('session_name', 'processing test');
  form.set('auto_process', 'true');
  form.set('upload_time', '2026-11-25 23:00:00');
  form.set('file', await openAsBlob(file), path.basename(file));
  return fetch(`${url}/upload`, { method: 'POST', body: form, headers: auth(key) });
}

function auth(key = KEY): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

async function status(url: string, taskId: string, key?: string): Promise<StatusBody> {
  const response = await fetch(`${url}/status/${taskId}`, { headers: auth(key) });
  assert.equal(response.status, 200);
  return (await response.json()) as StatusBody;
}

/** Polls /status until `until` holds (processing runs in the background). */
async function waitForStatus(
  url: string,
  taskId: string,
  until: (s: StatusBody) => boolean,
  key?: string,
): Promise<StatusBody> {
  for (;;) {
    const body = await status(url, taskId, key);
    if (until(body)) return body;
    // Finished without the awaited state: fail rather than wait for ever.
    if (body.state === 'done' || body.state === 'failed')
      assert.fail(`processing ended: ${JSON.stringify(body)}`);
    await delay(100);
  }
}

test('an upload with auto_process=true is processed: /status reaches "done" with the report, outputs download', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk session.mp4'));
  const notes = path.join(dir, 'notes.mkv');
  await writeFile(notes, 'not a video at all\n');
  const config = loadConfig({ env: {}, envFile: false });
  const { url } = await startIngestServer(t, {
    apiKeys: [KEY],
    createProcessor: processorFromConfig(config),
  });

  const uploaded = await upload(url, clip, 'talk-1');
  assert.equal(uploaded.status, 200, await uploaded.clone().text());
  const done = await waitForStatus(url, 'talk-1', (s) => s.state === 'done');
  const report = done.processing.report;
  assert.ok(report);
  assert.equal(done.processing.state, 'done');
  assert.equal(done.processing.progress, 1);
  assert.equal(report.segments_removed, 2);
  assert.ok(Math.abs(report.edited_duration - 8) <= 0.3, JSON.stringify(report));
  assert.ok(Math.abs(report.time_saved - (report.original_duration - report.edited_duration)) < 0.002);
  assert.deepEqual(
    done.processing.steps.map((s) => [s.name, s.state]),
    [
      ['probe', 'done'],
      ['thumbnail', 'done'],
      ['chapters', 'skipped'],
      ['audio', 'done'],
      ['transcribe', 'skipped'],
      ['web', 'done'],
      ['edit', 'done'],
    ],
  );
  const names = (done.processing.outputs ?? []).map((o) => o.name);
  assert.deepEqual(names, [
    'contact-sheet.jpg',
    'edited.mp4',
    'report.json',
    'thumbnail.jpg',
    'timeline-sprite.jpg',
    'timeline.json',
    'web.mp4',
  ]);

  // Outputs download, behind the same auth, with the right type; videos serve byte ranges for seeking.
  const thumb = await fetch(`${url}/outputs/talk-1/thumbnail.jpg`, { headers: auth() });
  assert.equal(thumb.status, 200);
  assert.equal(thumb.headers.get('content-type'), 'image/jpeg');
  assert.equal(Buffer.from(await thumb.arrayBuffer()).readUInt16BE(0), 0xffd8);
  const edited = path.join(dir, 'edited-download.mp4');
  const whole = await fetch(`${url}/outputs/talk-1/edited.mp4`, { headers: auth() });
  await writeFile(edited, Buffer.from(await whole.arrayBuffer()));
  assert.ok(Math.abs((await probe(edited)).duration - report.edited_duration) < 0.01);
  const part = await fetch(`${url}/outputs/talk-1/web.mp4`, { headers: { ...auth(), range: 'bytes=0-99' } });
  assert.equal(part.status, 206);
  assert.match(part.headers.get('content-range') ?? '', /^bytes 0-99\/\d+$/);
  assert.equal((await part.arrayBuffer()).byteLength, 100);
  const json = await fetch(`${url}/outputs/talk-1/report.json`, { headers: auth() });
  assert.deepEqual(await json.json(), JSON.parse(JSON.stringify(report)));

  assert.equal((await fetch(`${url}/outputs/talk-1/thumbnail.jpg`)).status, 401);
  assert.equal((await fetch(`${url}/outputs/talk-1/thumbnail.jpg`, { headers: auth('wrong') })).status, 401);
  for (const name of ['..%2F..%2Fingest.db', '..', '.edit-graph.txt', 'talk%20session.mp4', 'missing.jpg']) {
    const refused = await fetch(`${url}/outputs/talk-1/${name}`, { headers: auth() });
    assert.equal(refused.status, 404, name);
    assert.equal(((await refused.json()) as { success: boolean }).success, false);
  }
  assert.equal((await fetch(`${url}/outputs/nobody/web.mp4`, { headers: auth() })).status, 404);

  // A text file with a video's extension is received, then fails processing with its code.
  assert.equal((await upload(url, notes, 'notes-1')).status, 200);
  const failed = await waitForStatus(url, 'notes-1', (s) => s.state === 'failed');
  assert.equal(failed.processing.error?.code, 'NOT_A_MEDIA_FILE');

  // POST /process/:task_id reruns the pipeline.
  const rerun = await fetch(`${url}/process/talk-1`, { method: 'POST', headers: auth() });
  assert.equal(rerun.status, 202);
  assert.deepEqual(await rerun.json(), { success: true, task_id: 'talk-1', state: 'queued' });
  const again = await waitForStatus(url, 'talk-1', (s) => s.state === 'done');
  assert.equal(again.processing.report?.segments_removed, 2);
  assert.equal((await fetch(`${url}/process/nobody`, { method: 'POST', headers: auth() })).status, 404);
  assert.equal((await fetch(`${url}/process/talk-1`, { method: 'POST' })).status, 401);
});

test('POST /process answers 503 PROCESSING_UNAVAILABLE on a server without a processor', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const { url } = await startIngestServer(t, { apiKeys: [KEY] });
  assert.equal((await upload(url, clip, 'plain')).status, 200);
  const response = await fetch(`${url}/process/plain`, { method: 'POST', headers: auth() });
  assert.equal(response.status, 503);
  assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'PROCESSING_UNAVAILABLE');
});

/** Runs `streamai ingest` (the real command, with processing wired in) as a child process. */
function startIngestProcess(t: TestContext, dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  return startIngestChild(t, {
    script: 'src/cli/main.ts',
    args: ['ingest', '--port', '0', '--data-dir', dataDir],
    env: {
      STREAMAI_LOG_FILE: path.join(dataDir, '..', 'logs', 'streamai.log'),
      INGEST_API_KEYS: KEY,
      INGEST_WORKERS: '1',
    },
  });
}

test('the ingest server killed mid-job (SIGKILL) and restarted: the job completes', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'data');
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'), { width: 1280, height: 720, rate: 30 });

  const first = await startIngestProcess(t, dataDir);
  assert.equal((await upload(first.url, clip, 'crash-1')).status, 200);
  const midway = await waitForStatus(first.url, 'crash-1', (s) =>
    s.processing.steps.some((step) => step.name === 'edit' && step.state === 'running' && step.progress > 0),
  );
  assert.equal(midway.state, 'processing');
  const exited = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await exited;
  // The ffmpeg it was running died with it (the kernel's parent-death signal).
  const db = openIngestDb(dataDir);
  const ffmpegPid = new ProcessingJobRepository(db).get('crash-1')?.childPid;
  db.close();
  assert.ok(ffmpegPid, 'the job had an ffmpeg running');
  assert.equal(await gone(ffmpegPid), true, 'no ffmpeg outlives the killed server');

  const second = await startIngestProcess(t, dataDir);
  const done = await waitForStatus(second.url, 'crash-1', (s) => s.state === 'done');
  assert.ok(Math.abs((done.processing.report?.edited_duration ?? 0) - 8) <= 0.3);
  const report = JSON.parse(
    await readFile(path.join(dataDir, 'crash-1', 'outputs', 'report.json'), 'utf8'),
  ) as ProcessingReport;
  assert.equal(report.segments_removed, 2);
  second.child.kill('SIGTERM');
});

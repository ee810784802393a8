import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { CreateProcessor } from '../../src/ingest/upload-processor.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/logging/index.js';
import {
  processingSettingsFromConfig,
  processorFromConfig,
  type ProcessingReport,
} from '../../src/processing/index.js';
import { ProcessingJobRepository, sqliteIngestState } from '../../src/store/index.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeService, openIngestDb, outcome } from './service-helpers.js';
import { gone, makeTalkClip, makeTruncatedCopy } from './processing-media.js';

test('a truncated file and a text file named .mkv fail with their codes, and the next job still runs', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir);
  t.after(() => service.close());

  const good = await makeTalkClip(path.join(dir, 'good.mp4'));
  const truncated = await makeTruncatedCopy(good, path.join(dir, 'cut.mp4'));
  const text = path.join(dir, 'notes.mkv');
  await writeFile(text, 'these are my meeting notes, not a video\n');

  const outcomes = Promise.all([outcome(service, 'text'), outcome(service, 'cut'), outcome(service, 'good')]);
  await service.enqueue({ taskId: 'text', filePath: text, outputDir: path.join(dir, 'text-out') });
  await service.enqueue({ taskId: 'cut', filePath: truncated, outputDir: path.join(dir, 'cut-out') });
  await service.enqueue({ taskId: 'good', filePath: good, outputDir: path.join(dir, 'good-out') });
  assert.equal((await service.status('good'))?.state, 'queued', 'jobs wait until the service starts');
  await service.start();
  assert.deepEqual(await outcomes, ['failed', 'failed', 'done']);

  const textStatus = await service.status('text');
  assert.equal(textStatus?.error?.code, 'NOT_A_MEDIA_FILE');
  assert.deepEqual(textStatus?.steps.map((s) => [s.name, s.state]).slice(0, 2), [
    ['probe', 'failed'],
    ['thumbnail', 'pending'],
  ]);
  assert.equal((await service.status('cut'))?.error?.code, 'CORRUPT_MEDIA');
  const goodStatus = await service.status('good');
  assert.equal(goodStatus?.state, 'done');
  assert.equal(goodStatus?.progress, 1);
  assert.equal((goodStatus?.report as ProcessingReport).segments_removed, 2);
  assert.ok(goodStatus?.outputs.some((o) => o.name === 'edited.mp4' && o.size > 0));
  assert.equal(await service.status('never-queued'), undefined);
});

test('a job whose file has gone fails with FILE_NOT_FOUND', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir);
  t.after(() => service.close());
  await service.start();
  const failed = outcome(service, 'gone');
  await service.enqueue({ taskId: 'gone', filePath: 'missing/recording.mkv', outputDir: 'gone/outputs' });
  assert.equal(await failed, 'failed');
  assert.equal((await service.status('gone'))?.error?.code, 'FILE_NOT_FOUND');
});

test('a truncated MKV (readable header, missing tail) fails with CORRUPT_MEDIA', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir);
  t.after(() => service.close());
  const whole = await makeClip(path.join(dir, 'whole.mkv'), { seconds: 4, format: 'matroska' });
  const cut = await makeTruncatedCopy(whole, path.join(dir, 'cut.mkv'));
  await service.start();
  const done = outcome(service, 'mkv');
  await service.enqueue({ taskId: 'mkv', filePath: cut, outputDir: path.join(dir, 'out') });
  assert.equal(await done, 'failed');
  assert.equal((await service.status('mkv'))?.error?.code, 'CORRUPT_MEDIA');
});

test('events follow every state change, and a re-queued job runs again from scratch', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir, { workers: 2 });
  t.after(() => service.close());
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
  const seen: string[] = [];
  service.on('queued', () => seen.push('queued'));
  service.on('started', ({ attempt }) => seen.push(`started#${attempt}`));
  service.on('step', ({ step }) => seen.push(`${step.name}:${step.state}`));
  service.on('done', () => seen.push('done'));
  await service.start();

  let done = outcome(service, 'a');
  await service.enqueue({ taskId: 'a', filePath: clip, outputDir: path.join(dir, 'out') });
  assert.equal(await done, 'done');
  assert.deepEqual(seen, [
    'queued',
    'started#1',
    'probe:running',
    'probe:done',
    'thumbnail:running',
    'thumbnail:done',
    'chapters:skipped',
    'audio:running',
    'audio:done',
    'transcribe:skipped',
    'web:running',
    'web:done',
    'edit:running',
    'edit:done',
    'done',
  ]);

  seen.length = 0;
  done = outcome(service, 'a');
  await service.enqueue({ taskId: 'a', filePath: clip, outputDir: path.join(dir, 'out') });
  assert.equal((await service.status('a'))?.report, null, 'a re-run starts without the old report');
  assert.equal(await done, 'done');
  assert.equal(seen[1], 'started#2');
  assert.ok(seen.includes('probe:running'), 'every step runs again');
});

test('queuing a task again while it runs stops that run and starts over once', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir, { workers: 2 });
  t.after(() => service.close());
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
  const job = { taskId: 'again', filePath: clip, outputDir: path.join(dir, 'out') };
  const seen: string[] = [];
  service.on('started', ({ attempt }) => seen.push(`started#${attempt}`));
  service.on('interrupted', ({ reason }) => seen.push(`interrupted:${reason}`));
  service.on('done', () => seen.push('done'));
  service.on('step', ({ step }) => {
    if (step.name === 'web' && step.state === 'running' && !seen.includes('started#2'))
      void service.enqueue(job);
  });
  await service.start();
  const done = outcome(service, 'again');
  await service.enqueue(job);
  assert.equal(await done, 'done');
  // With two workers free, the second run still waited for the first to stop.
  assert.deepEqual(seen, ['started#1', 'interrupted:requeued', 'started#2', 'done']);
  assert.equal((await service.status('again'))?.state, 'done');
});

test('close() kills the running job and leaves it queued; the next start resumes it to the end', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'), { width: 1280, height: 720, rate: 30 });
  const db = openIngestDb(dir);
  t.after(() => db.close());

  const first = makeService(db, dir);
  const editRunning = new Promise<void>((resolve) =>
    first.on('step', ({ step }) => {
      if (step.name === 'edit' && step.state === 'running') resolve();
    }),
  );
  await first.start();
  await first.enqueue({ taskId: 'long', filePath: clip, outputDir: path.join(dir, 'out') });
  await editRunning;
  const jobs = new ProcessingJobRepository(db);
  let ffmpegPid: number | null = null;
  while (ffmpegPid === null) {
    await delay(10);
    ffmpegPid = jobs.get('long')?.childPid ?? null;
  }
  const probeBefore = (await first.status('long'))?.steps.find((s) => s.name === 'probe');
  await first.close();
  assert.equal((await first.status('long'))?.state, 'queued');
  assert.equal(
    (await first.status('long'))?.steps.find((s) => s.name === 'edit')?.state,
    'pending',
    'stopped, not failed',
  );
  assert.throws(() => process.kill(ffmpegPid, 0), { code: 'ESRCH' }, 'close() killed the running ffmpeg');

  const second = makeService(db, dir);
  t.after(() => second.close());
  const ran: string[] = [];
  second.on('step', ({ step }) => ran.push(`${step.name}:${step.state}`));
  const done = outcome(second, 'long');
  await second.start();
  assert.equal(await done, 'done');
  // Resumed: the steps finished before the close were not run again.
  assert.ok(!ran.includes('probe:running') && !ran.includes('web:running'), ran.join(' '));
  assert.deepEqual(
    (await second.status('long'))?.steps.find((s) => s.name === 'probe'),
    probeBefore,
  );
  assert.ok(Math.abs(((await second.status('long'))?.report as ProcessingReport).edited_duration - 8) <= 0.3);
});

test('a failing optional step (chapters) does not fail the job: it ends done, the step says failed, the report lists it', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir, { chapters: true, stepTimeoutOverridesMs: { chapters: 1 } });
  t.after(() => service.close());
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
  const seen: string[] = [];
  service.on('step', ({ step }) => {
    if (step.name === 'chapters') seen.push(`chapters:${step.state}`);
  });
  service.on('done', () => seen.push('done'));
  service.on('failed', () => seen.push('failed'));
  await service.start();
  const done = outcome(service, 'soft');
  await service.enqueue({ taskId: 'soft', filePath: clip, outputDir: path.join(dir, 'out') });
  assert.equal(await done, 'done');
  assert.deepEqual(seen, ['chapters:running', 'chapters:failed', 'done']);

  const status = await service.status('soft');
  assert.equal(status?.state, 'done');
  assert.equal(status?.error, undefined);
  const chapters = status?.steps.find((s) => s.name === 'chapters');
  assert.equal(chapters?.state, 'failed');
  assert.equal(chapters?.error?.code, 'STEP_TIMEOUT');
  assert.match(chapters?.error?.message ?? '', /chapters/);
  const report = status?.report as ProcessingReport;
  assert.deepEqual(
    report.failed_steps.map((f) => [f.name, f.code]),
    [['chapters', 'STEP_TIMEOUT']],
  );
  assert.equal(report.chapters, null);
  assert.ok(status?.outputs.some((o) => o.name === 'web.mp4'));
  assert.ok(!status?.outputs.some((o) => o.name.startsWith('chapters')));
});

test('closing while an optional step runs is not a failure of that step: the job is left queued to run it again', async (t) => {
  const dir = await tempDir(t);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir, { chapters: true });
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
  const seen: string[] = [];
  service.on('done', () => seen.push('done'));
  service.on('interrupted', ({ reason }) => seen.push(`interrupted:${reason}`));
  let closing: Promise<void> | undefined;
  service.on('step', ({ step }) => {
    if (step.name === 'chapters' && step.state === 'running') closing = service.close();
  });
  const stopped = new Promise((resolve) => service.once('interrupted', resolve));
  await service.start();
  await service.enqueue({ taskId: 'closing', filePath: clip, outputDir: path.join(dir, 'out') });
  await stopped;
  await closing;
  assert.deepEqual(seen, ['interrupted:closing']);
  assert.equal((await service.status('closing'))?.state, 'queued');
  assert.equal((await service.status('closing'))?.steps.find((s) => s.name === 'chapters')?.state, 'pending');
});

test('a resumed job runs again a finished step whose output was deleted or changed meanwhile', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const outputDir = path.join(dir, 'out');
  const db = openIngestDb(dir);
  t.after(() => db.close());

  const first = makeService(db, dir);
  const editRunning = new Promise<void>((resolve) =>
    first.on('step', ({ step }) => {
      if (step.name === 'edit' && step.state === 'running') resolve();
    }),
  );
  await first.start();
  await first.enqueue({ taskId: 'resume', filePath: clip, outputDir });
  await editRunning;
  await first.close();
  assert.equal((await first.status('resume'))?.state, 'queued');
  const webBefore = (await first.status('resume'))?.steps.find((s) => s.name === 'web');
  assert.equal(webBefore?.state, 'done');
  assert.deepEqual(webBefore?.outputs, [
    { name: 'web.mp4', size: (await stat(path.join(outputDir, 'web.mp4'))).size },
  ]);

  // Between the two runs, someone deletes the web copy and damages the thumbnail.
  await rm(path.join(outputDir, 'web.mp4'));
  await writeFile(path.join(outputDir, 'thumbnail.jpg'), 'not the thumbnail');

  const second = makeService(db, dir);
  t.after(() => second.close());
  const ran: string[] = [];
  second.on('step', ({ step }) => {
    if (step.state === 'running') ran.push(step.name);
  });
  const done = outcome(second, 'resume');
  await second.start();
  assert.equal(await done, 'done');
  assert.deepEqual(ran, ['thumbnail', 'web', 'edit'], 'probe and audio were kept; the others ran');
  const status = await second.status('resume');
  const web = status?.outputs.find((o) => o.name === 'web.mp4');
  assert.ok(web && web.size === webBefore?.outputs?.[0]?.size, JSON.stringify(status?.outputs));
  const thumbnail = await readFile(path.join(outputDir, 'thumbnail.jpg'));
  assert.equal(thumbnail.readUInt16BE(0), 0xffd8, 'the thumbnail is a JPEG again');
});

test('processorFromConfig builds the processor the ingest server expects from INGEST_* settings', async (t) => {
  const dir = await tempDir(t);
  const config = loadConfig({
    env: {
      INGEST_WORKERS: '3',
      INGEST_CHAPTERS: 'true',
      INGEST_SILENCE_THRESHOLD_DB: '-40',
      INGEST_STEP_TIMEOUT: '90',
      INGEST_TRANSCRIBE: 'whisper',
      INGEST_WHISPER_BIN: '/opt/whisper/whisper-cli',
      INGEST_WHISPER_MODEL: '/opt/whisper/ggml-base.bin',
    },
    envFile: false,
  });
  assert.deepEqual(processingSettingsFromConfig(config), {
    workers: 3,
    stepTimeoutMs: 90_000,
    silenceThresholdDb: -40,
    silenceMinSeconds: 1,
    chapters: true,
    transcribe: {
      engine: 'whisper',
      whisperBin: '/opt/whisper/whisper-cli',
      whisperModel: '/opt/whisper/ggml-base.bin',
    },
  });
  assert.throws(() => loadConfig({ env: { INGEST_TRANSCRIBE: 'vosk' }, envFile: false }), {
    code: 'CONFIG_INVALID',
  });
  const create: CreateProcessor = processorFromConfig(config);
  const db = openIngestDb(dir);
  t.after(() => db.close());
  const processor = create({ state: sqliteIngestState(db), dataDir: dir, logger: silentLogger() });
  await processor.start();
  await processor.close();
  assert.equal(await processor.status('none'), undefined);
});

test('the hosting process killed mid-job (SIGKILL): its ffmpeg dies with it, and a restart completes the job', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeTalkClip(path.join(dir, 'talk.mp4'), { width: 1280, height: 720, rate: 30 });
  const outputDir = path.join(dir, 'out');
  const fixture = fileURLToPath(new URL('./fixtures/host-processing.ts', import.meta.url));
  const host = spawn(process.execPath, ['--import', 'tsx', fixture, dir, 'crash', clip, outputDir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => host.kill('SIGKILL'));

  // Kill it while the edit's ffmpeg is encoding.
  const lines = createInterface({ input: host.stdout });
  let ffmpegPid: number | undefined;
  for await (const line of lines) {
    const event = JSON.parse(line) as {
      event: string;
      childPid: number | null;
      name?: string;
      progress?: number;
    };
    if (event.event === 'done') assert.fail('the job finished before it could be interrupted');
    const steps = event.event === 'progress' ? await stepsOf(dir) : [];
    if (steps.some((s) => s.name === 'edit' && s.state === 'running' && s.progress > 0) && event.childPid) {
      ffmpegPid = event.childPid;
      break;
    }
  }
  assert.ok(ffmpegPid, 'saw the edit running');
  const exited = once(host, 'exit');
  host.kill('SIGKILL');
  await exited;
  assert.equal(await gone(ffmpegPid), true, 'the ffmpeg of the killed process is gone');

  const db = openIngestDb(dir);
  t.after(() => db.close());
  const service = makeService(db, dir);
  t.after(() => service.close());
  assert.equal((await service.status('crash'))?.state, 'processing', 'the crash left the job mid-run');
  const done = outcome(service, 'crash');
  await service.start();
  assert.equal(await done, 'done');
  const report = (await service.status('crash'))?.report as ProcessingReport;
  assert.ok(Math.abs(report.edited_duration - 8) <= 0.3);
});

async function stepsOf(dataDir: string): Promise<Array<{ name: string; state: string; progress: number }>> {
  const db = openIngestDb(dataDir);
  try {
    return (new ProcessingJobRepository(db).get('crash')?.steps ?? []) as Array<{
      name: string;
      state: string;
      progress: number;
    }>;
  } finally {
    db.close();
  }
}

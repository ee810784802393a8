import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FfmpegRecorder } from '../../src/recorder/index.js';
import { RecordingManager, type RecordingView } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = path.join(root, 'src', 'cli', 'main.ts');

function env(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    RECORDINGS_PATH: path.join(dir, 'recordings'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    RECORDER: 'ffmpeg',
    ...extra,
  };
}

/** Runs the CLI to completion (bounded), returning exit code and output. */
function cli(
  args: string[],
  environment: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], {
      cwd: root,
      env: environment,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`streamai ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('`streamai record --duration 2` records, auto-uploads, prints a summary; `streamai list` shows it', async (t) => {
  const dir = await tempDir(t);
  const ingest = await startIngestServer(t);
  const environment = env(dir, { VULTR_API_URL: ingest.url, VULTR_AUTO_UPLOAD: 'true' });
  const record = await cli(['record', '--session-name', 'CLI séance', '--duration', '2'], environment);
  assert.equal(record.code, 0, record.stderr);
  assert.match(record.stdout, /session {4}CLI séance \(ses_/);
  assert.match(record.stdout, /recording {2}rec_\S+: ready/);
  assert.match(record.stdout, /upload {5}task_\S+: completed/);
  assert.match(record.stderr, /upload 100%/);

  const list = await cli(['list'], environment);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /uploaded\s+CLI séance/);

  const bad = await cli(['record', '--session-name', '../escape', '--duration', '1'], environment);
  assert.equal(bad.code, 64);
  assert.match(bad.stderr, /error \[INVALID_NAME\]/);
});

test('a station killed mid-recording: the next start stops the ffmpeg it left and attaches the file', async (t) => {
  const dir = await tempDir(t);
  const environment = env(dir, { VULTR_AUTO_UPLOAD: 'false' });
  const child = spawn(process.execPath, ['--import', 'tsx', main, 'record', '--session-name', 'crash'], {
    cwd: root,
    env: environment,
  });
  t.after(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`recording did not start: ${stderr}`)), 30_000);
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      if (stderr.includes('press Ctrl-C')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await new Promise((r) => setTimeout(r, 1500));
  const exited = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL'); // the station dies; its ffmpeg does not
  await exited;

  const db = openDatabase(path.join(dir, 'data', 'streamai.db'), stationMigrations);
  const manager = new RecordingManager({
    recorder: new FfmpegRecorder(),
    db,
    recordingsPath: path.join(dir, 'recordings'),
  });
  t.after(async () => {
    await manager.close();
    db.close();
  });
  const settled = new Promise<RecordingView>((resolve) => {
    manager.on('recording', (r) => {
      if (r.state === 'ready' || r.state === 'failed') resolve(r);
    });
  });
  await manager.start();
  const recording = await settled;
  t.after(() => {
    // Should the reaping ever fail, do not leave an ffmpeg recording forever.
    if (recording.recorderPid !== null) {
      try {
        process.kill(recording.recorderPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    }
  });
  assert.equal(recording.state, 'ready', JSON.stringify(recording.error));
  assert.equal(recording.sessionName, 'crash');
  assert.equal(recording.technical?.['interrupted'], true);
  assert.ok((recording.duration ?? 0) >= 1, `duration ${recording.duration}`);
  // The orphaned ffmpeg is gone: the file no longer grows.
  assert.ok(recording.recorderPid !== null);
  assert.throws(() => process.kill(recording.recorderPid ?? 0, 0));
  assert.deepEqual(
    (await readdir(path.join(dir, 'recordings', 'crash'))).filter((f) => f.endsWith('.mkv')).length,
    1,
  );
});

test('`streamai record` without a name records into recording_session_<YYYYMMDD_HHMMSS>; -s is --session-name', async (t) => {
  const dir = await tempDir(t);
  const environment = env(dir, { VULTR_AUTO_UPLOAD: 'false' });
  const unnamed = await cli(['record', '--duration', '1'], environment);
  assert.equal(unnamed.code, 0, unnamed.stderr);
  assert.match(unnamed.stdout, /session {4}recording_session_\d{8}_\d{6} \(ses_/);
  const short = await cli(['record', '-s', 'short form', '--duration', '1'], environment);
  assert.equal(short.code, 0, short.stderr);
  const folders = (await readdir(path.join(dir, 'recordings'))).sort();
  assert.equal(folders.length, 2, folders.join(', '));
  assert.match(folders[0] ?? '', /^recording_session_\d{8}_\d{6}$/);
  assert.equal(folders[1], 'short form');
});

test('FFMPEG_SOURCE=webcam is a configuration error naming the variable (exit 78)', async (t) => {
  const dir = await tempDir(t);
  const result = await cli(['record', '--duration', '1'], env(dir, { FFMPEG_SOURCE: 'webcam' }));
  assert.equal(result.code, 78, result.stderr);
  assert.match(result.stderr, /CONFIG_INVALID/);
  assert.match(result.stderr, /FFMPEG_SOURCE/);
});

test('`streamai status` shows the sessions and the pending and failed upload TASKS (an upload of a plain file counts too)', async (t) => {
  const dir = await tempDir(t);
  const closedPort = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { seconds: 1, format: 'matroska' });
  const environment = env(dir, {
    VULTR_API_URL: `http://127.0.0.1:${closedPort}`,
    VULTR_UPLOAD_RETRIES: '0',
    VULTR_AUTO_UPLOAD: 'false',
    PORT: '9', // no station answers there: the local look
  });
  const upload = await cli(['upload', clip], environment);
  assert.notEqual(upload.code, 0, 'the upload fails: nothing listens');
  const record = await cli(['record', '-s', 'status check', '--duration', '1'], environment);
  assert.equal(record.code, 0, record.stderr);

  const json = await cli(['status', '--json'], environment);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.equal(report.sessions, 1);
  assert.equal(report.recordings, 1);
  assert.equal(report.uploadsPending, 0);
  assert.equal(report.uploadsFailed, 1, 'the failed task of `streamai upload`');
  const text = await cli(['status'], environment);
  assert.match(text.stdout, /^recordings .*: 1 sessions, 1 recordings$/m);
  assert.match(text.stdout, /^uploads {4}0 pending, 1 failed;/m);
  assert.match(text.stdout, /^media {6}ffmpeg \d+\.\d+/m, 'the ffmpeg in use');
  assert.match(String(report.media), /^ffmpeg \d+\.\d+/);
});

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort, serveStation } from '../helpers/station-process.js';

const MAIN = path.resolve('src/cli/main.ts');

function cli(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function serve(t: TestContext, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const { child, out } = await serveStation(t, env);
  assert.match(out, /StreamAI station on http:\/\/127\.0\.0\.1:\d+/);
  assert.match(out, /embedded ingest server/);
  return child;
}

test('streamai serve, then start / status / stop from another terminal', async (t) => {
  const dir = await tempDir(t);
  const env = {
    ...process.env,
    PORT: String(await freePort()),
    RECORDINGS_PATH: path.join(dir, 'recordings'),
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    INGEST_DATA_DIR: path.join(dir, 'ingest'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    INGEST_DISK_RESERVE_BYTES: '1MiB',
    RECORDER: 'ffmpeg',
    // One file: the pending-uploads figures below are those of a station with no upload yet (in
    // parts, the recording's own upload starts with it; test/uploads/recording-parts* cover that).
    RECORDING_SEGMENT_SECONDS: '0',
  };

  const nobody = await cli(['start', '--session-name', 'Nobody home'], env);
  assert.equal(nobody.code, 69);
  assert.match(nobody.stderr, /^error \[STATION_UNREACHABLE\]: no station answers at/);

  const station = await serve(t, env);
  const started = await cli(['start', '--session-name', 'Réunion équipe'], env);
  assert.equal(started.code, 0, started.stderr);
  assert.match(started.stdout, /recording "Réunion équipe"/);

  const again = await cli(['start', '--session-name', 'Other'], env);
  assert.equal(again.code, 75);
  assert.match(again.stderr, /ALREADY_RECORDING/);

  const status = await cli(['status', '--json'], env);
  assert.equal(status.code, 0, status.stderr);
  const live = JSON.parse(status.stdout) as {
    recorder: { recording: boolean; session: { name: string } };
    sessions: number;
    recordings: number;
    uploadsPending: number;
    uploadsFailed: number;
  };
  assert.equal(live.recorder.recording, true);
  assert.equal(live.recorder.session.name, 'Réunion équipe');
  // What README promises: the sessions, and pending and failed uploads, also while the station runs.
  assert.equal(live.sessions, 1);
  assert.equal(live.recordings, 1);
  assert.equal(live.uploadsPending, 0);
  assert.equal(live.uploadsFailed, 0);
  const text = await cli(['status'], env);
  assert.match(text.stdout, /^recordings .*: 1 sessions, 1 recordings$/m);
  assert.match(text.stdout, /^uploads {4}0 pending \(0 active\), 0 failed;/m);

  await new Promise((resolve) => setTimeout(resolve, 1500));
  const stopped = await cli(['stop'], env);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.match(stopped.stdout, /stopped "Réunion équipe"/);

  const taskId = /\((task_[^)]+)\)/.exec(stopped.stdout)?.[1];
  assert.ok(taskId, `the auto-upload's task id is printed: ${stopped.stdout}`);

  // upload-status asks the running station (no VULTR_API_URL here) and shows processing in words.
  let shown = '';
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const status = await cli(['upload-status', taskId], env);
    assert.equal(status.code, 0, status.stderr);
    shown = status.stdout;
    if (/^server: (done|failed)/m.test(shown)) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  assert.match(shown, /^server: done$/m, shown);
  assert.match(shown, /report: original \d+\.\d\d s, edited \d+\.\d\d s/);
  assert.match(shown, /output thumbnail\.jpg/);

  const exited = new Promise<number | null>((resolve) => station.on('exit', (code) => resolve(code)));
  station.kill('SIGTERM');
  assert.equal(await exited, 0, 'the station stops cleanly on SIGTERM');
});

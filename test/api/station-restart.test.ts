import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { startFaultProxy } from '../helpers/fault-proxy.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { call, eventually, freePort, serveEnv, startServeProcess } from '../helpers/station.js';
import { tempDir } from '../helpers/temp-dir.js';

type Json = Record<string, unknown>;

/**
 * Issue 9.1: the real `streamai serve` (bin/streamai.js, dist/ from `npm run build`) stopped by
 * SIGINT, SIGTERM or SIGKILL in the middle of an upload resumes the SAME task on its next start,
 * from the offset the server holds, and the completed task shows no error.
 */
for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
  test(`station stopped by ${signal} mid-upload resumes the same task after a restart`, async (t) => {
    assert.ok(existsSync('dist/cli/main.js'), 'run `npm run build` first: this test runs the real process');
    const dir = await tempDir(t, 'streamai-restart-');
    const ingest = await startIngestServer(t);
    // A slow link (16 KiB/s) that counts what reaches the server: a resumed upload sends the
    // file about once, not twice. (VULTR_UPLOAD_MAX_RATE cannot slow a file smaller than one
    // read buffer: the token bucket lets one read go and books the debt.)
    const proxy = await startFaultProxy(t, ingest.url, { throttleBytesPerSecond: 16 * 1024 });
    const port = await freePort();
    const env = serveEnv(dir, port, {
      VULTR_API_URL: proxy.url,
      VULTR_UPLOAD_PROTOCOL: 'tus',
      VULTR_AUTO_UPLOAD: 'true',
      LOG_LEVEL: 'info',
      // One file after Stop: this test compares the server's copy with the local file byte for
      // byte; recordings sent in parts are killed and resumed in test/faults/station-kill-recording.
      RECORDING_SEGMENT_SECONDS: '0',
    });
    const url = `http://127.0.0.1:${port}`;
    let station = await startServeProcess(t, env);

    const started = await call(`${url}/api/recording/start`, {
      method: 'POST',
      json: { sessionName: `restart ${signal}` },
    });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const stopped = await call(`${url}/api/recording/stop`, { method: 'POST', json: {} });
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    const recording = stopped.body.recording as Json;

    // Mid-upload: the server holds some bytes but not all.
    let seen: unknown;
    const before = await eventually(
      async () => {
        const uploads = (await call(`${url}/api/vultr/uploads`)).body.uploads as Json[] | undefined;
        const task = uploads?.find((u) => u.recording_id === recording.id);
        seen = { task, bytesUp: proxy.bytesUp };
        if (task?.state === 'uploading' && proxy.bytesUp > 48 * 1024) return task;
        return undefined;
      },
      60_000,
      'the upload to be under way',
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}; last seen ${JSON.stringify(seen)}; ${station.output()}`);
    });
    const size = Number(before.size);
    // The socket buffers swallow the whole small file at once; what the server got is what counts.
    assert.ok(proxy.bytesUp < size, 'still mid-upload');

    const exited = new Promise((resolve) => station.once('exit', resolve));
    station.kill(signal);
    await exited;

    station = await startServeProcess(t, env);
    const done = await eventually(
      async () => {
        const answer = await call(`${url}/api/vultr/upload/status/${String(before.task_id)}`);
        const state = answer.body.state;
        if (state === 'failed' || state === 'cancelled') throw new Error(JSON.stringify(answer.body));
        return state === 'completed' ? answer.body : undefined;
      },
      120_000,
      'the resumed upload to complete',
    );
    assert.equal(done.task_id, before.task_id, 'the same task, not a new one');
    assert.equal(done.last_error, null, 'a completed task shows no old error');
    const history = (done.history as Json[]).map((h) => `${String(h.state)}: ${String(h.message)}`);
    assert.ok(
      history.some((line) => /resuming http/.test(line)),
      `resumed from the server's upload: ${history.join(' | ')}`,
    );
    assert.ok(
      !history.some((line) => /not started|INVALID_STATE/.test(line)),
      `no start-order failure: ${history.join(' | ')}`,
    );
    // One verified copy on the server, and the file went up about once (resumed at its offset).
    const local = Buffer.from(
      await (await fetch(`${url}/api/recordings/${String(recording.id)}/download`)).arrayBuffer(),
    );
    assert.equal(local.length, size);
    assert.equal(done.sha256, createHash('sha256').update(local).digest('hex'));
    assert.ok(proxy.bytesUp < size * 1.5, `sent ${proxy.bytesUp} bytes for a ${size}-byte file`);

    const exitedAgain = new Promise((resolve) => station.once('exit', resolve));
    station.kill('SIGTERM');
    await exitedAgain;
  });
}

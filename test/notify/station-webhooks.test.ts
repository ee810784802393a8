import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { verifyWebhook } from '../../src/notify/index.js';
import { call, eventually, startStation } from '../helpers/station.js';
import { tempDir } from '../helpers/temp-dir.js';
import { freePort, serveStation } from '../helpers/station-process.js';
import { sleep, startReceiver, until, type Received } from './receiver.js';

const SECRET = 'station-hook-secret';

const typesOf = (received: Received[]): string[] =>
  received.filter((r) => r.status < 300).map((r) => (JSON.parse(r.body) as { type: string }).type);

/** Waits until the receiver accepted the three events one recording with its upload makes. */
async function untilRecordingEvents(received: Received[], what: string): Promise<void> {
  const wanted = ['recording.started', 'recording.stopped', 'upload.completed'];
  await until(() => wanted.every((k) => typesOf(received).includes(k)), what, 90_000);
}

async function record(url: string, name: string): Promise<void> {
  const started = await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: name } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  await sleep(2500);
  const stopped = await call(`${url}/api/recording/stop`, { method: 'POST' });
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
}

test('a station recording and its upload are announced to the webhook, signed, and logged in the API', async (t) => {
  const receiver = await startReceiver(t);
  const { url } = await startStation(t, {
    STREAMAI_WEBHOOK_URL: receiver.url,
    STREAMAI_WEBHOOK_SECRET: SECRET,
  });
  await record(url, 'Hooked');
  await untilRecordingEvents(receiver.received, 'recording and upload events');
  for (const r of receiver.received) {
    const ok = verifyWebhook(
      SECRET,
      {
        signature: r.headers['x-streamai-signature'] as string,
        timestamp: r.headers['x-streamai-timestamp'] as string,
      },
      r.body,
    );
    assert.ok(ok, 'every delivery is signed');
  }
  const upload = receiver.received
    .map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> })
    .find((e) => e.type === 'upload.completed')!;
  assert.equal(upload.data.state, 'completed');
  assert.match(String(upload.data.sha256), /^[0-9a-f]{64}$/);
  assert.equal(upload.data.verified_by, 'sha256');

  const log = await call(`${url}/api/webhooks/deliveries?limit=10`);
  assert.equal(log.status, 200);
  const events = log.body.events as Array<{
    type: string;
    deliveries: Array<{ state: string; target: string }>;
  }>;
  const logged = events.find((e) => e.type === 'upload.completed');
  assert.equal(logged?.deliveries[0]?.state, 'delivered');
  assert.ok(!String(logged?.deliveries[0]?.target).includes('?'), 'no query string (secrets) in the log');
  const bad = await call(`${url}/api/webhooks/deliveries?limit=0`);
  assert.equal(bad.status, 400);
});

test('a station process killed with undelivered events delivers them after it restarts', async (t) => {
  const dir = await tempDir(t);
  const hookPort = await freePort(); // nothing listens there yet: the receiver is down
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    RECORDINGS_PATH: path.join(dir, 'recordings'),
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    INGEST_DATA_DIR: path.join(dir, 'ingest'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    INGEST_DISK_RESERVE_BYTES: '1MiB',
    RECORDING_MIN_FREE_BYTES: '1MiB',
    RECORDER: 'ffmpeg',
    STREAMAI_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/hook`,
    STREAMAI_WEBHOOK_SECRET: SECRET,
  };
  const url = `http://127.0.0.1:${port}`;
  const { child: first } = await serveStation(t, env);
  await record(url, 'Down');
  await eventually(
    async () => {
      const log = await call(`${url}/api/webhooks/deliveries`);
      const events = log.body.events as Array<{ type: string; deliveries: Array<{ attempts: number }> }>;
      const upload = events.find((e) => e.type === 'upload.completed');
      return upload && upload.deliveries[0]!.attempts > 0 ? true : undefined;
    },
    90_000,
    'a failed attempt of upload.completed',
  );
  first.kill('SIGKILL');
  await new Promise((resolve) => first.once('exit', resolve));

  const receiver = await startReceiver(t, [200], hookPort);
  await serveStation(t, env);
  await untilRecordingEvents(receiver.received, 'the events queued before the crash');
  const ids = receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id);
  assert.equal(new Set(ids).size, ids.length, 'each event arrives once');
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Notifier, eventId, verifyWebhook, type NotifyTargets } from '../../src/notify/index.js';
import {
  WebhookRepository,
  openDatabase,
  stationMigrations,
  ingestMigrations,
} from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { sleep, startReceiver, until } from './receiver.js';

const SECRET = 'whsec-test-secret';

function targets(urls: string[], extra: Partial<NotifyTargets> = {}): NotifyTargets {
  return { webhookUrls: urls, secret: SECRET, discordUrl: undefined, ntfyUrl: undefined, ...extra };
}

const fast = { retryBaseMs: 40, retryMaxMs: 200, pollMs: 50, leaseMs: 3000 };

test('a webhook carries the event as JSON with a signature a receiver can verify', async (t) => {
  const dir = await tempDir(t);
  const receiver = await startReceiver(t);
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  t.after(() => db.close());
  const notifier = new Notifier({ db, targets: targets([receiver.url]), ...fast });
  t.after(() => notifier.close());
  notifier.start();
  const id = await notifier.publish(
    'upload.completed',
    'upload.completed:task_1',
    { task_id: 'task_1' },
    'upload done',
  );

  await until(() => receiver.received.length === 1, 'the delivery');
  const got = receiver.received[0]!;
  assert.equal(got.headers['content-type'], 'application/json');
  const signature = got.headers['x-streamai-signature'] as string;
  const timestamp = got.headers['x-streamai-timestamp'] as string;
  assert.match(signature, /^sha256=[0-9a-f]{64}$/);
  assert.ok(verifyWebhook(SECRET, { signature, timestamp }, got.body), 'signature verifies');
  assert.ok(!verifyWebhook('another-secret', { signature, timestamp }, got.body), 'wrong secret fails');
  assert.ok(
    !verifyWebhook(SECRET, { signature, timestamp }, got.body.replace('task_1', 'task_2')),
    'tampered body fails',
  );
  const body = JSON.parse(got.body) as Record<string, unknown>;
  assert.equal(body.id, id);
  assert.equal(body.id, eventId('upload.completed:task_1'));
  assert.equal(body.type, 'upload.completed');
  assert.ok(!Number.isNaN(Date.parse(String(body.time))));
  assert.deepEqual(body.data, { task_id: 'task_1' });
  assert.equal(got.headers['x-streamai-event-id'], id);
});

test('a receiver that answers 500 then 200 gets the event exactly once, and the log shows both attempts', async (t) => {
  const dir = await tempDir(t);
  const receiver = await startReceiver(t, [500, 200]);
  const db = openDatabase(path.join(dir, 'ingest.db'), ingestMigrations);
  t.after(() => db.close());
  const notifier = new Notifier({ db, targets: targets([receiver.url]), ...fast });
  t.after(() => notifier.close());
  notifier.start();
  await notifier.publish('processing.done', 'processing.done:task_2', { task_id: 'task_2' }, 'processed');
  // The same happening noticed again (say, after a restart) is not a second event.
  await notifier.publish('processing.done', 'processing.done:task_2', { task_id: 'task_2' }, 'processed');

  await until(() => receiver.received.some((r) => r.status === 200), 'a successful delivery');
  await sleep(400); // long enough for several more retries, if any were (wrongly) scheduled
  assert.deepEqual(
    receiver.received.map((r) => r.status),
    [500, 200],
  );
  const ids = new Set(receiver.received.map((r) => (JSON.parse(r.body) as { id: string }).id));
  assert.equal(ids.size, 1, 'both attempts carry the same event id');
  const [event] = await notifier.repository.listEvents(10);
  assert.equal(event?.deliveries.length, 1);
  const delivery = event!.deliveries[0]!;
  assert.equal(delivery.state, 'delivered');
  assert.equal(delivery.attempts, 2);
  assert.deepEqual(
    delivery.log.map((a) => a.status),
    [500, 200],
  );
});

test('undelivered events are delivered after a restart, and an expired lease is taken over', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'streamai.db');
  const down = await startReceiver(t, [503]);
  const first = openDatabase(file, stationMigrations);
  const before = new Notifier({ db: first, targets: targets([down.url]), ...fast, retryBaseMs: 60_000 });
  before.start();
  await before.publish('recording.stopped', 'recording.stopped:rec_1', { id: 'rec_1' }, 'stopped');
  await until(() => down.received.length === 1, 'the failed first attempt');
  // A second event left "delivering" by a process that died: its lease expires and is taken over.
  await before.publish('recording.started', 'recording.started:rec_2', { id: 'rec_2' }, 'started');
  await before.close();
  first.close();
  await down.close();

  const second = openDatabase(file, stationMigrations);
  t.after(() => second.close());
  const repo = new WebhookRepository(second);
  second
    .prepare(
      "UPDATE webhook_deliveries SET state = 'delivering', lease_owner = 'dead:1', lease_expires_at = ? WHERE event_id = ?",
    )
    .run(Date.now() - 1, eventId('recording.started:rec_2'));
  // The receiver comes back on the same address; the first event's retry is due now.
  const up = await startReceiver(t, [200], Number(new URL(down.url).port));
  second.prepare('UPDATE webhook_deliveries SET next_attempt_at = 0').run();
  const after = new Notifier({ db: second, targets: targets([up.url]), ...fast });
  t.after(() => after.close());
  after.start();
  await until(() => up.received.length === 2, 'both events after the restart');
  const types = up.received.map((r) => (JSON.parse(r.body) as { type: string }).type).sort();
  assert.deepEqual(types, ['recording.started', 'recording.stopped']);
  await until(() => repo.countByState().delivered === 2, 'both marked delivered');
});

test('Discord and ntfy get one human line for upload and processing events only', async (t) => {
  const dir = await tempDir(t);
  const discord = await startReceiver(t, [204]);
  const ntfy = await startReceiver(t, [200]);
  const db = openDatabase(path.join(dir, 'streamai.db'), stationMigrations);
  t.after(() => db.close());
  const notifier = new Notifier({
    db,
    targets: targets([], { discordUrl: discord.url, ntfyUrl: ntfy.url }),
    ...fast,
  });
  t.after(() => notifier.close());
  notifier.start();
  await notifier.publish('recording.started', 'recording.started:r', { id: 'r' }, 'recording started');
  await notifier.publish(
    'upload.failed',
    'upload.failed:task_9:1',
    { task_id: 'task_9' },
    'upload of a.mkv failed',
  );
  await until(() => discord.received.length === 1 && ntfy.received.length === 1, 'both human messages');
  await sleep(200);
  assert.equal(discord.received.length, 1, 'recording.started is not sent to Discord');
  assert.deepEqual(JSON.parse(discord.received[0]!.body), {
    content: 'StreamAI: upload of a.mkv failed',
    allowed_mentions: { parse: [] },
  });
  assert.equal(ntfy.received[0]!.body, 'StreamAI: upload of a.mkv failed');
  assert.equal(ntfy.received[0]!.headers.title, 'StreamAI upload.failed');
  assert.equal(ntfy.received[0]!.headers.tags, 'warning');
  assert.equal(ntfy.received[0]!.headers['x-streamai-signature'], undefined);
});

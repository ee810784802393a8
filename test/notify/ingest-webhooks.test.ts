import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { verifyWebhook } from '../../src/notify/index.js';
import { processorFromConfig } from '../../src/processing/index.js';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { postUpload } from '../ingest/ingest-support.js';
import { startReceiver, until } from './receiver.js';

const KEY = 'ingest-key';
const SECRET = 'ingest-hook-secret';

test('the ingest server announces a received upload and its processing, with links, signed; the log needs the key', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeClip(path.join(dir, 'clip.mkv'), { format: 'matroska', seconds: 1 });
  const receiver = await startReceiver(t);
  const { url } = await startIngestServer(t, {
    apiKeys: [KEY],
    createProcessor: processorFromConfig(loadConfig({ env: {}, envFile: false })),
    notify: { webhookUrls: [receiver.url], secret: SECRET, discordUrl: undefined, ntfyUrl: undefined },
  });
  const answer = await postUpload(
    url,
    { task_id: 'hooked_task', session_name: 'Hook', auto_process: 'true' },
    { name: 'clip.mkv', path: clip },
    { authorization: `Bearer ${KEY}` },
  );
  assert.equal(answer.status, 200, JSON.stringify(answer.json));

  const events = (): Array<{ type: string; data: Record<string, unknown> }> =>
    receiver.received.map((r) => JSON.parse(r.body) as { type: string; data: Record<string, unknown> });
  await until(() => events().some((e) => e.type === 'processing.done'), 'processing.done', 120_000);
  for (const r of receiver.received) {
    const headers = {
      signature: r.headers['x-streamai-signature'] as string,
      timestamp: r.headers['x-streamai-timestamp'] as string,
    };
    assert.ok(verifyWebhook(SECRET, headers, r.body));
  }
  const received = events().find((e) => e.type === 'upload.completed');
  assert.equal(received?.data.task_id, 'hooked_task');
  const done = events().find((e) => e.type === 'processing.done')!;
  const links = done.data.links as { status: string; outputs: string[] };
  assert.equal(links.status, `${url}/status/hooked_task`);
  assert.ok(links.outputs.length > 0, 'links to the outputs');
  const output = await fetch(links.outputs[0]!, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(output.status, 200);
  await output.arrayBuffer();

  assert.equal((await fetch(`${url}/webhooks/deliveries`)).status, 401);
  const log = await fetch(`${url}/webhooks/deliveries`, { headers: { authorization: `Bearer ${KEY}` } });
  const body = (await log.json()) as {
    events: Array<{ type: string; deliveries: Array<{ state: string }> }>;
  };
  assert.deepEqual(body.events.map((e) => e.type).sort(), ['processing.done', 'upload.completed']);
  assert.ok(body.events.every((e) => e.deliveries[0]?.state === 'delivered'));
});

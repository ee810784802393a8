// End to end on PostgreSQL: the real `streamai ingest` with DATABASE_URL (and QUEUE_URL on the
// same server, so a real `streamai worker` processes the jobs), a tus and a multipart upload,
// then the ingest server SIGKILLed and restarted: /status still answers, from PostgreSQL.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { request } from 'undici';
import { startIngestProcess } from '../helpers/ingest-process.js';
import { makeClip } from '../helpers/make-media.js';
import { startWorker } from '../helpers/worker-process.js';
import { tempDir } from '../helpers/temp-dir.js';
import { postUpload, sha256Of, tusCreate, tusPatch } from '../ingest/ingest-support.js';
import { pgTestServer } from './ingest-state-backends.js';

const pgServer = pgTestServer();

interface Status {
  state: string;
  upload: { sha256: string | null; protocol: string };
  processing: { state?: string; outputs?: Array<{ name: string }> };
}

async function statusOf(url: string, taskId: string): Promise<{ code: number; body: Status }> {
  const res = await request(`${url}/status/${taskId}`);
  return { code: res.statusCode, body: (await res.body.json()) as Status };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('streamai ingest + worker on DATABASE_URL: tus and multipart uploads processed; after SIGKILL and restart /status answers from PostgreSQL', async (t) => {
  const databaseUrl = await pgServer.freshDatabase();
  const queueUrl = await pgServer.freshDatabase();
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'ingest-data');
  const env = { DATABASE_URL: databaseUrl, QUEUE_URL: queueUrl, QUEUE_JOB_BACKOFF_SECONDS: '1' };
  const ingest = () =>
    startIngestProcess(t, {
      script: 'src/cli/main.ts',
      args: ['ingest', '--port', '0', '--data-dir', dataDir],
      env,
    });
  const first = await ingest();
  // A worker with DATABASE_URL: it finds the jobs only if it reads them from PostgreSQL.
  await startWorker(t, env, dataDir);

  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2 });
  const data = await readFile(clip);
  const created = await tusCreate(first.url, data.length, {
    filename: 'tus.mp4',
    task_id: 'pg-tus',
    auto_process: 'true',
  });
  assert.equal(created.status, 201, created.text);
  const patched = await tusPatch(created.location!, 0, data);
  assert.equal(patched.status, 204, patched.text);
  const multipart = await postUpload(
    first.url,
    { task_id: 'pg-multipart', auto_process: 'true' },
    { name: 'multipart.mp4', path: clip },
  );
  assert.equal(multipart.status, 200, JSON.stringify(multipart.json));

  for (const id of ['pg-tus', 'pg-multipart']) {
    await waitFor(
      `${id} processed`,
      async () => (await statusOf(first.url, id)).body.processing.state === 'done',
    );
  }
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await ingest();
  for (const [id, protocol] of [
    ['pg-tus', 'tus'],
    ['pg-multipart', 'multipart'],
  ] as const) {
    const { code, body } = await statusOf(second.url, id);
    assert.equal(code, 200);
    assert.equal(body.state, 'done');
    assert.equal(body.upload.protocol, protocol);
    assert.equal(body.upload.sha256, sha256Of(data));
    assert.ok(body.processing.outputs?.some((o) => o.name === 'web.mp4'));
  }
  const list = await request(`${second.url}/uploads?limit=10`);
  assert.deepEqual(((await list.body.json()) as Array<{ task_id: string }>).map((u) => u.task_id).sort(), [
    'pg-multipart',
    'pg-tus',
  ]);
  // The state lives in PostgreSQL: no SQLite file was made in the data folder.
  await assert.rejects(access(path.join(dataDir, 'ingest.db')), { code: 'ENOENT' });
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  t.after(() => client.end());
  const { rows } = await client.query<{ task_id: string; state: string }>(
    'SELECT task_id, state FROM processing_jobs ORDER BY task_id',
  );
  assert.deepEqual(rows, [
    { task_id: 'pg-multipart', state: 'done' },
    { task_id: 'pg-tus', state: 'done' },
  ]);
});

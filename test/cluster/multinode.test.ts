import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test, { after } from 'node:test';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
} from '@aws-sdk/client-s3';
import { request } from 'undici';
import { CLUSTER_API_KEY, startCluster, type Cluster } from '../helpers/cluster.js';
import { makeClip, makeRawVideo } from '../helpers/make-media.js';
import { doneCounts, waitFor } from '../helpers/worker-process.js';
import { postUpload, sha256File, tusCreate, tusPatch } from '../ingest/ingest-support.js';
import { runCli } from '../uploads/run-cli.js';

const UPLOADS = 30;
const auth = { 'x-api-key': CLUSTER_API_KEY };

// One cluster for the file (it is the costly part): 2 nodes, 3 workers, nginx, PostgreSQL, Swift.
const dir = await mkdtemp(path.join(tmpdir(), 'streamai-multinode-'));
after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
const cluster: Cluster = await startCluster({ after }, { nodes: 2, workers: 3, dir });

async function statusOf(url: string, taskId: string): Promise<Record<string, unknown>> {
  const res = await request(`${url}/status/${taskId}`, { headers: auth });
  const body = (await res.body.json()) as Record<string, unknown>;
  assert.equal(res.statusCode, 200, `${url}/status/${taskId}: ${JSON.stringify(body)}`);
  return body;
}

const processingState = (body: Record<string, unknown>): unknown =>
  (body.processing as { state?: unknown } | undefined)?.state;

async function bucketKeys(): Promise<string[]> {
  const client = cluster.swift.client();
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: cluster.bucket, ContinuationToken: token }),
      );
      keys.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
      token = page.NextContinuationToken;
    } while (token);
    return keys;
  } finally {
    client.destroy();
  }
}

test('30 uploads through nginx to two nodes (half tus, half multipart): each verified and stored once, each job run once, both nodes agree', async () => {
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 1, width: 160, height: 120 });
  const data = await readFile(clip);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const ids = Array.from({ length: UPLOADS }, (_, i) => `scale-${i}`);

  const send = async (id: string, i: number): Promise<void> => {
    if (i % 2 === 0) {
      const created = await tusCreate(
        cluster.balancer.url,
        data.length,
        { filename: `${id}.mp4`, filetype: 'video/mp4', task_id: id, auto_process: 'true' },
        auth,
      );
      assert.equal(created.status, 201, `${id}: tus create ${created.text}`);
      assert.ok(created.location);
      const patched = await tusPatch(created.location, 0, data, { ...auth, 'upload-sha256': sha256 });
      assert.equal(patched.status, 204, `${id}: tus patch ${patched.text}`);
      assert.equal(
        patched.headers['upload-sha256'],
        sha256,
        `${id}: the node reports the digest it computed`,
      );
    } else {
      const res = await postUpload(
        cluster.balancer.url,
        { task_id: id, auto_process: 'true', sha256 },
        { name: `${id}.mp4`, path: clip, contentType: 'video/mp4' },
        auth,
      );
      assert.equal(res.status, 200, `${id}: multipart ${JSON.stringify(res.json)}`);
      assert.equal(res.json.sha256, sha256);
    }
  };
  // Several stations at once, as the balancer meets them.
  for (let i = 0; i < ids.length; i += 6) {
    await Promise.all(ids.slice(i, i + 6).map((id, j) => send(id, i + j)));
  }

  await waitFor('every job done', async () => {
    const bodies = await Promise.all(ids.map((id) => statusOf(cluster.balancer.url, id)));
    return bodies.every((b) => processingState(b) === 'done');
  });

  // Exactly once: each task finished by one worker, one time; nothing else finished.
  const counts = doneCounts(cluster.workers);
  for (const id of ids) assert.equal(counts.get(id), 1, `${id} finished once`);
  assert.equal(counts.size, UPLOADS);

  // Any node answers for any task, and they say the same.
  for (const id of ids) {
    const [a, b] = await Promise.all(cluster.nodes.map((n) => statusOf(n.url, id)));
    assert.deepEqual(a, b, `${id}: node-a and node-b agree`);
    assert.equal(processingState(a ?? {}), 'done');
  }

  // Stored once: one object per upload under its task, the bytes that were sent.
  const keys = await bucketKeys();
  for (const id of ids) {
    const stored = keys.filter((k) => k.includes(`${id}/`) && k.endsWith(`${id}.mp4`));
    assert.equal(stored.length, 1, `${id}: one recording object (${stored.join(', ')})`);
  }
});

test('the same task_id sent to both nodes at once is stored once and processed once', async () => {
  const clip = await makeClip(path.join(dir, 'twice.mp4'), { seconds: 1, width: 160, height: 120 });
  const sha256 = await sha256File(clip);
  const answers = await Promise.all(
    cluster.nodes.map((node) =>
      postUpload(
        node.url,
        { task_id: 'same-on-both', auto_process: 'true', sha256 },
        { name: 'twice.mp4', path: clip, contentType: 'video/mp4' },
        auth,
      ),
    ),
  );
  for (const res of answers) {
    // The second one is the idempotent repeat of the first: same answer, nothing stored again.
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.sha256, sha256);
  }
  await waitFor(
    'the job done',
    async () => processingState(await statusOf(cluster.balancer.url, 'same-on-both')) === 'done',
  );
  const stored = (await bucketKeys()).filter((k) => k.includes('same-on-both/') && k.endsWith('twice.mp4'));
  assert.equal(stored.length, 1, `one object: ${stored.join(', ')}`);
  assert.equal(doneCounts(cluster.workers).get('same-on-both'), 1, 'processed once');
});

test('the same task_id with other bytes on the other node: one is stored, the other answers 409, the stored one is never overwritten', async () => {
  const first = await makeClip(path.join(dir, 'first.mp4'), { seconds: 1, width: 160, height: 120 });
  const other = await makeClip(path.join(dir, 'other.mp4'), { seconds: 1, width: 176, height: 144 });
  const [nodeA, nodeB] = cluster.nodes;
  assert.ok(nodeA && nodeB);
  // The recording `file` as task "contested", its name take.mp4, to one node.
  const send = async (url: string, file: string) =>
    postUpload(
      url,
      { task_id: 'contested', auto_process: 'false', sha256: await sha256File(file) },
      { name: 'take.mp4', path: file, contentType: 'video/mp4' },
      auth,
    );
  const stored = await send(nodeA.url, first);
  assert.equal(stored.status, 200, JSON.stringify(stored.json));
  const refused = await send(nodeB.url, other);
  assert.equal(refused.status, 409, JSON.stringify(refused.json));
  const keys = (await bucketKeys()).filter((k) => k.includes('contested/') && k.endsWith('take.mp4'));
  assert.equal(keys.length, 1);
  assert.equal(await objectSha256(keys[0] ?? ''), await sha256File(first), 'the first bytes are still there');
  const status = await statusOf(nodeB.url, 'contested');
  assert.equal((status.upload as { sha256?: string }).sha256, await sha256File(first));
});

test('a node SIGKILLed in the middle of a tus upload: streamai upload resumes through the other node and completes, verified', async () => {
  // A real video the client accepts (ffprobe), ~23 MB: several S3 parts, cheap to make.
  const recording = await makeRawVideo(path.join(dir, 'station-take.mkv'), 8);
  const expected = await sha256File(recording);
  const size = (await stat(recording)).size;

  const client = runCli(
    ['upload', recording, '--no-process', '--json'],
    {
      VULTR_API_URL: cluster.balancer.url,
      VULTR_API_KEY: CLUSTER_API_KEY,
      VULTR_UPLOAD_PROTOCOL: 'tus',
      // Slow enough that the node dies with the upload half done.
      VULTR_UPLOAD_MAX_RATE: '4MB/s',
      STREAMAI_DATA_DIR: path.join(dir, 'station'),
      LOG_LEVEL: 'warn',
    },
    dir,
  );

  // The node receiving it holds the upload's lock; kill it once the bucket confirmed a part.
  let holder: string | undefined;
  await waitFor(
    'a node receiving the upload, with a part in the bucket',
    async () => {
      holder = await cluster.lockHolder();
      return holder !== undefined && (await confirmedParts()) > 0;
    },
    60_000,
  );
  assert.ok((await cluster.sharedCacheRows()) >= 1, 'the upload metadata is in the cache the nodes share');
  const victim = cluster.nodes.find((n) => n.name === holder);
  assert.ok(victim, `the lock holder ${holder} is one of the nodes`);
  victim.child.kill('SIGKILL');

  const result = await client;
  assert.equal(result.code, 0, `streamai upload: ${result.stdout} ${result.stderr}`);
  const task = JSON.parse(result.stdout.slice(result.stdout.indexOf('{'))) as {
    id: string;
    state: string;
    sha256: string;
  };
  assert.equal(task.state, 'completed');
  assert.equal(task.sha256, expected);

  // The surviving node has the whole file, verified against the client's digest.
  const survivor = cluster.nodes.find((n) => n !== victim);
  assert.ok(survivor);
  const status = await statusOf(survivor.url, task.id);
  const upload = status.upload as { sha256?: string; file_size?: number } | undefined;
  assert.equal(status.state, 'received', JSON.stringify(status));
  assert.equal(upload?.sha256, expected);
  assert.equal(upload?.file_size, size);
  // And the bucket holds exactly those bytes at the task's key, once.
  const stored = (await bucketKeys()).filter(
    (k) => k.includes(`${task.id}/`) && k.endsWith('station-take.mkv'),
  );
  assert.equal(stored.length, 1, stored.join(', '));
  assert.equal(await objectSha256(stored[0] ?? ''), expected);
  assert.equal(await cluster.sharedCacheRows(), 0, 'completed uploads leave nothing in the shared cache');
});

async function objectSha256(key: string): Promise<string> {
  const s3 = cluster.swift.client();
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: cluster.bucket, Key: key }));
    const hash = createHash('sha256');
    for await (const chunk of object.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    return hash.digest('hex');
  } finally {
    s3.destroy();
  }
}

/** Parts the bucket holds for unfinished multipart uploads (what a node confirmed writing). */
async function confirmedParts(): Promise<number> {
  const s3 = cluster.swift.client();
  try {
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: cluster.bucket }));
    let parts = 0;
    for (const u of uploads.Uploads ?? []) {
      const listed = await s3.send(
        new ListPartsCommand({ Bucket: cluster.bucket, Key: u.Key, UploadId: u.UploadId }),
      );
      parts += listed.Parts?.length ?? 0;
    }
    return parts;
  } finally {
    s3.destroy();
  }
}

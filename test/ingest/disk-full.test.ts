import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { request } from 'undici';
import { startIngestServer } from '../helpers/ingest-server.js';
import {
  multipartBody,
  sha256File,
  sha256Of,
  tusMetadata,
  tusOffset,
  tusPatch,
  tusRequest,
  visibleUploads,
} from './ingest-support.js';

const MiB = 1024 * 1024;
const RESERVE = 8 * MiB;
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A 64 MiB tmpfs (a real small disk that fills up), unmounted when the test ends. */
async function smallDisk(t: TestContext): Promise<string> {
  const parent = await mkdtemp(path.join(tmpdir(), 'streamai-tmpfs-'));
  const dir = path.join(parent, 'disk');
  await mkdir(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir]);
  // One hook, in this order: the server is closed (its own hook ran first), unmount, then remove.
  t.after(async () => {
    execFileSync('umount', ['-l', dir]);
    await rm(parent, { recursive: true, force: true });
  });
  return dir;
}

/** Sends `data` as a chunked body (no Content-Length), the way a streaming client does. */
function chunked(data: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < data.length; at += MiB) yield data.subarray(at, at + MiB);
    })(),
  );
}

/** Takes `bytes` of the disk with a file of its own; returns a function that gives them back. */
async function fill(disk: string, bytes: number): Promise<() => Promise<void>> {
  const file = path.join(disk, 'filler.bin');
  await writeFile(file, Buffer.alloc(bytes));
  return () => rm(file);
}

/** A PATCH the server refuses mid-body: the 507 reaches the client although it was still sending. */
async function refusedPatch(upload: string, body: Readable): Promise<void> {
  const refused = await tusPatch(upload, 0, body);
  assert.equal(refused.status, 507);
  assert.equal(JSON.parse(refused.text).error.code, 'INSUFFICIENT_STORAGE');
}

/** An ingest server whose data folder is on a fresh small disk, with an 8 MiB reserve. */
async function smallServer(t: TestContext): Promise<{ disk: string; url: string }> {
  const disk = await smallDisk(t);
  const { url } = await startIngestServer(t, { dataDir: path.join(disk, 'data'), diskReserveBytes: RESERVE });
  return { disk, url };
}

const opts = { skip: isRoot ? false : 'mounting a tmpfs needs root (CI runs as root)' };

test(
  'tus with Upload-Defer-Length sent chunked stops at the reserve with 507 and resumes when space returns',
  opts,
  async (t) => {
    const { disk, url } = await smallServer(t);
    const release = await fill(disk, 30 * MiB);
    const data = randomBytes(32 * MiB);

    const created = await tusRequest(`${url}/files/`, 'POST', {
      'upload-defer-length': '1',
      'upload-metadata': tusMetadata({ filename: 'deferred.mkv', task_id: 'deferred-1' }),
    });
    assert.equal(created.status, 201);
    const upload = new URL(String(created.headers.location), url).toString();
    await refusedPatch(upload, chunked(data));
    const offset = await tusOffset(upload);
    assert.ok(offset > 0 && offset < data.length, `kept a resumable partial (${offset} bytes)`);
    assert.deepEqual(await visibleUploads(path.join(disk, 'data')), []);

    await release();
    const done = await tusPatch(upload, offset, data.subarray(offset), {
      'upload-length': String(data.length),
    });
    assert.equal(done.status, 204);
    assert.equal(done.headers['upload-sha256'], sha256Of(data));
    assert.equal(await sha256File(path.join(disk, 'data', 'deferred-1', 'deferred.mkv')), sha256Of(data));
  },
);

test(
  'tus with a declared length sent chunked stops at the reserve too (the disk filled after creation)',
  opts,
  async (t) => {
    const { disk, url } = await smallServer(t);
    const data = randomBytes(32 * MiB);
    const created = await tusRequest(`${url}/files/`, 'POST', {
      'upload-length': String(data.length),
      'upload-metadata': tusMetadata({ filename: 'declared.mkv', task_id: 'declared-1' }),
    });
    assert.equal(created.status, 201);
    const upload = new URL(String(created.headers.location), url).toString();
    const release = await fill(disk, 30 * MiB);
    await refusedPatch(upload, chunked(data));
    const offset = await tusOffset(upload);
    assert.ok(offset < data.length);
    await release();
    const done = await tusPatch(upload, offset, data.subarray(offset));
    assert.equal(done.status, 204);
    assert.equal(done.headers['upload-sha256'], sha256Of(data));
  },
);

test('a chunked multipart body stops at the reserve with 507 and leaves nothing behind', opts, async (t) => {
  const disk = await smallDisk(t);
  const dataDir = path.join(disk, 'data');
  const { url } = await startIngestServer(t, { dataDir, diskReserveBytes: RESERVE });
  await fill(disk, 30 * MiB);
  const form = await multipartBody({ task_id: 'multi-1' }, { name: 'big.mkv', data: randomBytes(32 * MiB) });
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': form.contentType },
    body: form.body(),
  });
  assert.equal(res.statusCode, 507);
  assert.equal(((await res.body.json()) as { error: { code: string } }).error.code, 'INSUFFICIENT_STORAGE');
  assert.deepEqual(await visibleUploads(dataDir), []);
  assert.deepEqual(await readdir(path.join(dataDir, '.incoming')), []);
  const status = await request(`${url}/status/multi-1`);
  assert.equal(status.statusCode, 404);
  await status.body.dump();
});

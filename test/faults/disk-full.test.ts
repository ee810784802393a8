import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../helpers/fault-proxy.js';
import { makeBigClip } from '../uploads/upload-fixtures.js';
import { MiB, ingestStatus, kill, scenario, startIngest } from './support.js';

const DISK = 64 * MiB;
const SIZE = 10 * MiB;

/**
 * A temp folder with a tmpfs of `bytes` mounted at `<dir>/disk` (needs root, as CI runs). One
 * cleanup hook, in the only order that works: stop the server using it (`stop`, set later),
 * unmount (lazily: a crashed server may still hold files), then remove the folder.
 */
async function tmpfsDir(
  t: TestContext,
  bytes: number,
): Promise<{ dir: string; disk: string; onCleanup: (stop: () => Promise<void>) => void }> {
  if (process.getuid?.() !== 0) {
    throw new Error('the disk-full scenario mounts a small tmpfs: run the fault suite as root (CI does)');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-fault-disk-'));
  const disk = path.join(dir, 'disk');
  await mkdir(disk);
  let stop: () => Promise<void> = async () => undefined;
  t.after(async () => {
    await stop().catch(() => undefined);
    execFileSync('umount', ['-l', disk]);
    await rm(dir, { recursive: true, force: true });
  });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', disk]);
  return { dir, disk, onCleanup: (fn) => (stop = fn) };
}

async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** The answer to a request, or how it failed (a reset instead of an answer is a failure too). */
async function send(
  url: string,
  init: RequestInit,
): Promise<{ status: number; headers: Headers; body: string }> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
    return { status: response.status, headers: response.headers, body: await response.text() };
  } catch (error) {
    return {
      status: 0,
      headers: new Headers(),
      body: `no answer: ${String((error as Error).cause ?? error)}`,
    };
  }
}

/** A body streamed without a length (Transfer-Encoding: chunked), 256 KiB at a time. */
function chunked(parts: Buffer[]): ReadableStream<Uint8Array> {
  const all = Buffer.concat(parts);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= all.length) return controller.close();
      controller.enqueue(all.subarray(at, at + 256 * 1024));
      at += 256 * 1024;
    },
  });
}

function multipartParts(taskId: string, fileName: string, data: Buffer, boundary: string): Buffer[] {
  return [
    Buffer.from(
      `--${boundary}\r\ncontent-disposition: form-data; name="task_id"\r\n\r\n${taskId}\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="auto_process"\r\n\r\nfalse\r\n` +
        `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${fileName}"\r\n` +
        'content-type: video/mp4\r\n\r\n',
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ];
}

test('disk full on a small tmpfs: tus with declared and deferred length and a chunked multipart upload get 507, keep nothing partial, and complete once space returns', async (t) => {
  const figures = scenario(
    t,
    'disk-full',
    `disk full (${DISK / MiB} MiB tmpfs, ${SIZE / MiB} MiB uploads)`,
    '507, nothing partial shown or kept, completes when space returns',
  );
  const { dir, disk, onCleanup } = await tmpfsDir(t, DISK);
  const dataDir = path.join(disk, 'ingest-data');
  const ingest = await startIngest(t, { dir, dataDir, port: await freePort() });
  onCleanup(() => kill(ingest.cli, 'SIGKILL'));
  const url = ingest.url;
  const clip = await makeBigClip(path.join(dir, 'clip.mkv'), SIZE);
  const data = await readFile(clip);
  const digest = createHash('sha256').update(data).digest('hex');
  // Leave about 6 MiB: less than one upload.
  const filler = path.join(disk, 'filler');
  await writeFile(filler, Buffer.alloc((await freeBytes(disk)) - 6 * MiB));
  const freeBefore = await freeBytes(disk);

  // Each kind is checked to the end even when another one fails, so the report names them all.
  const problems: string[] = [];
  const check = (ok: boolean, message: string): boolean => {
    if (!ok) problems.push(message);
    return ok;
  };
  const tusHeaders = { 'tus-resumable': '1.0.0' };
  const createTus = async (taskId: string, deferred: boolean) =>
    send(`${url}/files/`, {
      method: 'POST',
      headers: {
        ...tusHeaders,
        ...(deferred ? { 'upload-defer-length': '1' } : { 'upload-length': String(SIZE) }),
        'upload-metadata': `filename ${b64(`${taskId}.mkv`)},task_id ${b64(taskId)},auto_process ${b64('false')}`,
      },
    });
  const patchTus = async (location: string, offset: number, deferred: boolean) =>
    send(new URL(location, url).href, {
      method: 'PATCH',
      headers: {
        ...tusHeaders,
        'content-type': 'application/offset+octet-stream',
        'upload-offset': String(offset),
        ...(deferred ? { 'upload-length': String(SIZE) } : {}),
      },
      body: data.subarray(offset),
    });

  /** One tus upload against the full disk; returns its Location (undefined if creation was refused). */
  const tusOnFullDisk = async (taskId: string, deferred: boolean): Promise<string | undefined> => {
    const created = await createTus(taskId, deferred);
    if (created.status === 507) return undefined;
    if (!check(created.status === 201, `${taskId}: created or 507, got ${created.status} ${created.body}`)) {
      return undefined;
    }
    const location = created.headers.get('location') ?? '';
    const patched = await patchTus(location, 0, deferred);
    check(
      patched.status === 507,
      `${taskId}: the PATCH that fills the disk gets 507, got ${patched.status} ${patched.body}`,
    );
    return location;
  };

  const kinds = [
    { taskId: 'diskfull-declared', kind: 'tus, declared length' },
    { taskId: 'diskfull-deferred', kind: 'tus, deferred length' },
    { taskId: 'diskfull-multipart', kind: 'multipart, chunked body' },
  ];
  const locations = new Map<string, string | undefined>();
  locations.set('diskfull-declared', await tusOnFullDisk('diskfull-declared', false));
  locations.set('diskfull-deferred', await tusOnFullDisk('diskfull-deferred', true));
  const boundary = `----fault${randomBytes(8).toString('hex')}`;
  const multipart = () =>
    send(`${url}/upload`, {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: chunked(multipartParts('diskfull-multipart', 'diskfull-multipart.mkv', data, boundary)),
      duplex: 'half',
    } as RequestInit);
  const freeBeforeMultipart = await freeBytes(disk);
  const refused = await multipart();
  check(refused.status === 507, `multipart on a full disk: 507, got ${refused.status} ${refused.body}`);
  figures.faults += 3;

  for (const { taskId, kind } of kinds) {
    const status = await ingestStatus(url, taskId);
    const shown = await readFile(path.join(dataDir, taskId, `${taskId}.mkv`)).then(
      () => true,
      () => false,
    );
    if (check(status?.state !== 'received' && !shown, `${kind}: shown as received on a full disk`)) {
      figures.count('nothing shown on a full disk');
    }
  }
  // The refused multipart body is not kept (tus keeps what it stored, to resume from).
  const kept = freeBeforeMultipart - (await freeBytes(disk));
  check(kept <= 256 * 1024, `the refused multipart body was removed (${kept} bytes still used)`);
  figures.notes.push(`tus kept ${((freeBefore - freeBeforeMultipart) / MiB).toFixed(1)} MiB to resume from`);

  await rm(filler);
  for (const { taskId, kind } of kinds) {
    try {
      if (taskId === 'diskfull-multipart') {
        const ok = await multipart();
        assert.equal(ok.status, 200, `${kind} with space back: ${ok.status} ${ok.body}`);
      } else {
        const deferred = taskId === 'diskfull-deferred';
        let location = locations.get(taskId);
        let offset = 0;
        if (location === undefined) {
          const created = await createTus(taskId, deferred);
          assert.equal(created.status, 201, `${kind} created with space back: ${created.body}`);
          location = created.headers.get('location') ?? '';
        } else {
          const head = await send(new URL(location, url).href, { method: 'HEAD', headers: tusHeaders });
          offset = Number(head.headers.get('upload-offset') ?? 0);
        }
        const done = await patchTus(location, offset, deferred);
        assert.equal(done.status, 204, `${kind} resumed with space back: ${done.status} ${done.body}`);
      }
      const status = await ingestStatus(url, taskId);
      const upload = status?.upload as { sha256?: string } | undefined;
      assert.equal(upload?.sha256, digest, `${kind}: completed and verified`);
      const stored = await readFile(path.join(dataDir, taskId, `${taskId}.mkv`));
      assert.equal(createHash('sha256').update(stored).digest('hex'), digest);
      figures.count('completed when space returned');
    } catch (error) {
      problems.push(`${kind} with space back: ${(error as Error).message}`);
    }
  }
  assert.deepEqual(problems, [], 'every kind behaved');
  figures.pass();
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { isAppError } from '../../src/errors/index.js';
import { moveFile, sha256File, writeJsonAtomic } from '../../src/sessions/index.js';
import { tempDir } from '../helpers/temp-dir.js';

test('a move within one filesystem is a rename that keeps the file (inode) itself', async (t) => {
  const dir = await tempDir(t);
  const source = path.join(dir, '2026-11-24 20-13-03.mkv');
  await writeFile(source, randomBytes(64 * 1024));
  const inode = (await stat(source)).ino;
  const target = path.join(dir, 'session é', 'x.mkv');
  await mkdir(path.dirname(target));
  await moveFile(source, target);
  assert.equal((await stat(target)).ino, inode);
  await assert.rejects(stat(source));
});

test('a move across filesystems copies, verifies by sha256, then deletes the source', async (t) => {
  const dir = await tempDir(t);
  // /dev/shm (tmpfs) or else the project folder: whichever is not the temp folder's filesystem.
  let other = '';
  for (const base of ['/dev/shm/', path.join(process.cwd(), '.streamai-test-')]) {
    const candidate = await mkdtemp(base === '/dev/shm/' ? '/dev/shm/streamai-test-' : base).catch(() => '');
    if (candidate === '') continue;
    if ((await stat(candidate)).dev !== (await stat(dir)).dev) {
      other = candidate;
      break;
    }
    await rm(candidate, { recursive: true, force: true });
  }
  assert.notEqual(other, '', 'this test needs a second filesystem (/dev/shm or the project folder)');
  t.after(() => rm(other, { recursive: true, force: true }));
  const source = path.join(other, 'recording.mkv');
  await writeFile(source, randomBytes(3 * 1024 * 1024 + 17));
  const digest = await sha256File(source);
  const target = path.join(dir, 'recording.mkv');
  await moveFile(source, target);
  assert.equal(await sha256File(target), digest);
  assert.deepEqual(await readdir(other), []);
});

test('a move never overwrites an existing file', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'a'), 'new');
  await writeFile(path.join(dir, 'b'), 'precious');
  await assert.rejects(moveFile(path.join(dir, 'a'), path.join(dir, 'b')), (e) => isAppError(e));
  assert.equal(await readFile(path.join(dir, 'b'), 'utf8'), 'precious');
  assert.equal(await readFile(path.join(dir, 'a'), 'utf8'), 'new');
});

test('metadata is written atomically: the complete new JSON, no temporary file left', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'session_metadata.json');
  await writeJsonAtomic(file, { id: 'ses_1', title: 'old' });
  // Concurrent writers each replace the whole file; a reader never sees a mix.
  await Promise.all(Array.from({ length: 20 }, (_, i) => writeJsonAtomic(file, { id: 'ses_1', n: i })));
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { id: string; n: number };
  assert.equal(parsed.id, 'ses_1');
  assert.ok(parsed.n >= 0 && parsed.n < 20);
  assert.deepEqual(await readdir(dir), ['session_metadata.json']);
});

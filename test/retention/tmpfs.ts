import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { startStation } from '../helpers/station.js';

const run = promisify(execFile);

/**
 * A small real filesystem (tmpfs, `size` e.g. "64m") mounted on a fresh folder (the tests run as
 * root), for a station started by `use`. Unmounted (lazily, in case a child still holds a file)
 * and removed when the test ends, after the station's own clean-up: test hooks run in the order
 * they were added, and the station must stop writing before its disk goes.
 */
export async function onSmallDisk<T>(
  t: TestContext,
  use: (dir: string) => Promise<T>,
  size = '64m',
): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-tmpfs-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  try {
    return await use(dir);
  } finally {
    t.after(async () => {
      await run('umount', ['-l', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
  }
}

/** Fills `bytes` of the disk with a file (real blocks, not a sparse file). */
export async function fill(file: string, bytes: number): Promise<void> {
  await run('dd', [
    'if=/dev/zero',
    `of=${file}`,
    'bs=1M',
    `count=${Math.ceil(bytes / (1024 * 1024))}`,
    'status=none',
  ]);
}

/** A station (test/helpers/station.ts) whose environment is built from a fresh small disk. */
export async function stationOnSmallDisk(
  t: TestContext,
  env: (disk: string) => Record<string, string>,
): Promise<{ url: string; disk: string }> {
  return onSmallDisk(t, async (disk) => ({ disk, url: (await startStation(t, env(disk))).url }));
}

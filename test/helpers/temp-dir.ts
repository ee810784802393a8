import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

/**
 * A fresh temporary folder, removed when the test ends. Hooks run in the order they were added,
 * so a process the test started later may still be writing into it: removal retries on
 * ENOTEMPTY/EBUSY instead of failing the test.
 */
export async function tempDir(t: TestContext, prefix = 'streamai-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));
  return dir;
}

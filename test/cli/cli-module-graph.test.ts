import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers/temp-dir.js';
import { runCli } from '../uploads/run-cli.js';

/**
 * Which npm packages a `streamai` command loads. Measured with a module load hook
 * (module-trace.mjs, node:module register) rather than RSS: RSS varies with the machine and
 * Node version, the list of loaded modules does not. The hook sees every ES module and the
 * entry file of every package our ES modules import (CommonJS ones included), which is enough
 * to tell that Fastify, BullMQ or pg came in. The CLI runs from src through tsx, as the other
 * CLI tests do, so a stale dist/ cannot hide a regression.
 */
const trace = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));

async function loadedPackages(
  dir: string,
  args: string[],
  env: Record<string, string>,
): Promise<Set<string>> {
  const out = path.join(dir, `modules-${args.join('-').replace(/[^\w-]/g, '_')}.txt`);
  const result = await runCli(
    args,
    {
      NODE_OPTIONS: `--import=${trace}`,
      STREAMAI_TRACE_MODULES: out,
      STREAMAI_DATA_DIR: path.join(dir, 'data'),
      STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
      ...env,
    },
    dir,
  );
  assert.notEqual(result.code, null, result.stderr);
  output = result.stderr;
  const urls = (await readFile(out, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    // tsx (and its esbuild) compile the sources for this test; the built CLI runs without them.
    if (match?.[1] && match[1] !== 'tsx' && match[1] !== 'esbuild') packages.add(match[1]);
  }
  return packages;
}

let output = '';
const serverSide = ['fastify', '@fastify/multipart', '@tus/server', 'bullmq', 'pg'];

test('the CLI loads only what the chosen command needs', async (t) => {
  const dir = await tempDir(t);

  await t.test('--version loads commander and nothing else', async () => {
    const packages = await loadedPackages(dir, ['--version'], {});
    assert.deepEqual([...packages], ['commander']);
  });

  await t.test('upload (server and S3 targets) loads no server, queue or database client', async () => {
    for (const target of ['server', 's3']) {
      // A missing file: the command's whole static module graph loads, then it fails fast.
      const packages = await loadedPackages(dir, ['upload', 'no-such-recording.mp4'], {
        VULTR_API_URL: 'http://127.0.0.1:9',
        UPLOAD_TARGET: target,
        S3_ENDPOINT: 'http://127.0.0.1:9',
        S3_BUCKET: 'recordings',
        S3_ACCESS_KEY_ID: 'test',
        S3_SECRET_ACCESS_KEY: 'test',
      });
      assert.ok(
        packages.has('commander') && packages.has('better-sqlite3'),
        `${[...packages].join(', ')}\n${output}`,
      );
      // The upload client is node's own http (in the binary's snapshot): undici would add
      // ~100 ms to every start of `streamai upload` (docs/BENCHMARKS.md, "CLI start").
      const loaded = [...serverSide, 'undici'].filter((name) => packages.has(name));
      assert.deepEqual(loaded, [], `streamai upload (${target}) loaded ${loaded.join(', ')}`);
    }
  });
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeFor } from '../../src/errors/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runBuiltCli } from '../uploads/run-cli.js';

/**
 * What the built CLI (bin/streamai.js over dist/, so `npm run build` first) loads before
 * `streamai upload` fails on a missing file: its fixed start cost, paid before every upload's
 * first byte (issue 11). The OBS client and the progress bar library must not be in it — they
 * are imported when an OBS recorder connects and when a bar is drawn. Listed through the module
 * hook and require's cache (module-trace.mjs), not timed: timings vary, the list does not.
 */
const trace = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));
const notOnStart = ['obs-websocket-js', 'ws', '@msgpack/msgpack', 'crypto-js', 'cli-progress'];

async function packagesOf(file: string): Promise<Set<string>> {
  const packages = new Set<string>();
  for (const url of (await readFile(file, 'utf8')).split('\n')) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (match?.[1]) packages.add(match[1]);
  }
  return packages;
}

test('the built CLI: upload, uploads and upload-status start without the OBS client or cli-progress', async (t) => {
  const dir = await tempDir(t);
  const env = {
    STREAMAI_DATA_DIR: path.join(dir, 'data'),
    STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
    VULTR_API_URL: 'http://127.0.0.1:9',
    NODE_OPTIONS: `--import=${trace}`,
  };
  const commands: Array<{ args: string[]; code: number; says: RegExp }> = [
    {
      args: ['upload', 'no-such-recording.mkv', '--wait'],
      code: exitCodeFor('FILE_NOT_FOUND'),
      says: /^error \[FILE_NOT_FOUND\]: .*no-such-recording\.mkv/m,
    },
    { args: ['uploads'], code: 0, says: /^$/ },
    {
      args: ['upload-status', 'task_0123456789abcdef'],
      code: exitCodeFor('TASK_NOT_FOUND'),
      says: /TASK_NOT_FOUND/,
    },
  ];
  for (const [i, c] of commands.entries()) {
    const out = path.join(dir, `modules-${i}.txt`);
    await writeFile(out, '');
    const result = await runBuiltCli(c.args, { ...env, STREAMAI_TRACE_MODULES: out }, dir);
    assert.equal(result.code, c.code, `${c.args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, c.says);
    const packages = await packagesOf(out);
    // The trace works: the packages the command does use are in it.
    assert.ok(packages.has('commander') && packages.has('better-sqlite3'), [...packages].join(', '));
    const loaded = notOnStart.filter((name) => packages.has(name));
    assert.deepEqual(loaded, [], `streamai ${c.args[0]} loaded ${loaded.join(', ')}`);
  }
});

test("the launcher turns on Node's compile cache where Node has one, and starts without it when it cannot", async (t) => {
  const dir = await tempDir(t);
  // Node's default cache folder is <os.tmpdir()>/node-compile-cache: TMPDIR moves it here.
  const tmp = await tempDir(t);
  const ok = await runBuiltCli(['--version'], { TMPDIR: tmp }, dir);
  assert.equal(ok.code, 0, ok.stderr);
  const entries = await readdir(tmp);
  // @types/node is Node 20's, which has no enableCompileCache: asked for by name.
  if ('enableCompileCache' in (await import('node:module')).default) {
    assert.deepEqual(entries, ['node-compile-cache'], 'Node >= 22.1: the cache folder is made');
  } else {
    assert.deepEqual(entries, [], 'Node 20 has no compile cache: nothing is written');
  }
  // A temporary folder that is a file: no cache can be made, the command runs all the same.
  const file = path.join(dir, 'not-a-folder');
  await writeFile(file, '');
  const without = await runBuiltCli(['--version'], { TMPDIR: file }, dir);
  assert.equal(without.code, 0, without.stderr);
  assert.match(without.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(without.stderr, '');
});

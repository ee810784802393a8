import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exitCodeFor } from '../../src/errors/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { runBuiltCli, runCli } from '../uploads/run-cli.js';

/**
 * Which npm packages a `streamai` command loads. Measured with a module load hook and require's
 * cache (module-trace.mjs) rather than RSS or time: those vary with the machine and Node
 * version, the list of loaded modules does not. The hook sees every ES module and the entry
 * file of every package our ES modules import (CommonJS ones included), the cache what CommonJS
 * packages require of each other, which is enough to tell that Fastify, BullMQ, pg or the OBS
 * client came in. Most cases run the CLI from src through tsx, as the other CLI tests do, so a
 * stale dist/ cannot hide a regression; the start-cost cases run the built CLI
 * (bin/streamai.js over dist/, `npm run build` first), launcher included, as users do.
 */
const trace = fileURLToPath(new URL('./module-trace.mjs', import.meta.url));

async function loadedPackages(
  dir: string,
  args: string[],
  env: Record<string, string>,
  run: typeof runCli = runCli,
): Promise<Set<string>> {
  const out = path.join(dir, `modules-${args.join('-').replace(/[^\w-]/g, '_')}.txt`);
  await writeFile(out, '');
  const result = await run(
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
  output = result;
  const urls = (await readFile(out, 'utf8')).split('\n').filter(Boolean);
  const packages = new Set<string>();
  for (const url of urls) {
    const match = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    // tsx (and its esbuild) compile the sources for this test; the built CLI runs without them.
    if (match?.[1] && match[1] !== 'tsx' && match[1] !== 'esbuild') packages.add(match[1]);
  }
  return packages;
}

let output = { code: null as number | null, stderr: '' };
const serverSide = ['fastify', '@fastify/multipart', '@tus/server', 'bullmq', 'pg'];
/**
 * Imported when an OBS recorder connects (obs-websocket-js and what it brings) and when
 * `--wait` draws a bar on a terminal: ~70 ms of every start otherwise (issue 11).
 */
const notOnStart = ['obs-websocket-js', 'ws', '@msgpack/msgpack', 'crypto-js', 'cli-progress'];

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
        `${[...packages].join(', ')}\n${output.stderr}`,
      );
      // The upload client is node's own http (in the binary's snapshot): undici would add
      // ~100 ms to every start of `streamai upload` (docs/BENCHMARKS.md, "CLI start").
      const loaded = [...serverSide, 'undici', ...notOnStart].filter((name) => packages.has(name));
      assert.deepEqual(loaded, [], `streamai upload (${target}) loaded ${loaded.join(', ')}`);
    }
  });

  await t.test(
    'the built CLI: upload, uploads and upload-status start without the OBS client or cli-progress',
    async () => {
      const commands: Array<{ args: string[]; code: number; says: RegExp }> = [
        {
          // --wait asks for progress: on a pipe it is a line per 10 %, no bar, no cli-progress.
          args: ['upload', 'no-such-recording.mkv', '--wait'],
          code: exitCodeFor('FILE_NOT_FOUND'),
          says: /^error \[FILE_NOT_FOUND\]: .*no-such-recording\.mkv/m,
        },
        { args: ['uploads'], code: 0, says: /^$/ },
        {
          args: ['upload-status', 'task_0123456789abcdef'],
          code: exitCodeFor('TASK_NOT_FOUND'),
          says: /^error \[TASK_NOT_FOUND\]/m,
        },
      ];
      for (const c of commands) {
        const packages = await loadedPackages(
          dir,
          ['built', ...c.args],
          { VULTR_API_URL: 'http://127.0.0.1:9' },
          (args, env, cwd) => runBuiltCli(args.slice(1), env, cwd),
        );
        assert.equal(output.code, c.code, `${c.args.join(' ')}: ${output.stderr}`);
        assert.match(output.stderr, c.says);
        // The trace works: the packages the command does use are in it.
        assert.ok(packages.has('commander') && packages.has('better-sqlite3'), [...packages].join(', '));
        const loaded = notOnStart.filter((name) => packages.has(name));
        assert.deepEqual(loaded, [], `streamai ${c.args[0]} loaded ${loaded.join(', ')}`);
      }
    },
  );
});

test("the launcher turns on Node's compile cache where Node has one, and starts without it when it cannot", async (t) => {
  const dir = await tempDir(t);
  // Node's default cache folder is <os.tmpdir()>/node-compile-cache: TMPDIR moves it here.
  const tmp = await tempDir(t);
  const ok = await runBuiltCli(['--version'], { TMPDIR: tmp }, dir);
  assert.equal(ok.code, 0, ok.stderr);
  // @types/node is Node 20's, which has no enableCompileCache: asked for by name.
  if ('enableCompileCache' in module) {
    assert.deepEqual(await readdir(tmp), ['node-compile-cache'], 'Node >= 22.1: the cache is made');
    assert.equal((await readdir(path.join(tmp, 'node-compile-cache'))).length, 1, 'one folder per Node');
  } else {
    assert.deepEqual(await readdir(tmp), [], 'Node 20 has no compile cache: nothing is written');
  }
  const file = path.join(dir, 'not-a-folder');
  await writeFile(file, '');
  // No cache can be made: a temporary folder that is a file, one inside /proc, where Node's own
  // recursive mkdir spins forever (the launcher makes the folder itself first); and the cache
  // turned off. The command runs all the same, at once.
  const cannot: Array<Record<string, string>> = [
    { TMPDIR: file },
    { TMPDIR: '/proc/self' },
    { NODE_DISABLE_COMPILE_CACHE: '1' },
  ];
  for (const env of cannot) {
    const without = await runBuiltCli(['--version'], env, dir, 20_000);
    assert.equal(without.code, 0, `${JSON.stringify(env)}: ${without.stderr}`);
    assert.match(without.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.equal(without.stderr, '');
  }
});

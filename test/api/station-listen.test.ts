import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { serveEnv } from '../helpers/station.js';
import { tempDir } from '../helpers/temp-dir.js';

test('streamai serve on a port in use: CONFIG_INVALID naming PORT/HOST, exit 78 (the real process)', async (t) => {
  assert.ok(existsSync('dist/cli/main.js'), 'run `npm run build` first: this test runs the real process');
  const dir = await tempDir(t, 'streamai-listen-');
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const { port } = taken.address() as { port: number };
  const child = spawn(process.execPath, [path.resolve('bin/streamai.js'), 'serve'], {
    env: serveEnv(dir, port),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 78, stderr);
  assert.match(
    stderr,
    /^error \[CONFIG_INVALID\]: PORT\/HOST: cannot listen on 127\.0\.0\.1:\d+ \(the port is in use\)/m,
  );
  assert.doesNotMatch(stderr, /EADDRINUSE|INTERNAL_ERROR|\n\s+at /);
});

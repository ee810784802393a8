import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  describeMediaTools,
  isRecentEnough,
  mediaTools,
  packagedTools,
  resolveMediaTools,
} from '../../src/media/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { makeTalkClip } from '../processing/processing-media.js';

const run = promisify(execFile);

test('the system ffmpeg (Debian 5.1, installed by the test command) is the one in use here', () => {
  assert.notEqual(mediaTools.ffmpeg.source, 'packaged', describeMediaTools());
  assert.notEqual(mediaTools.ffprobe.source, 'packaged');
  assert.ok(isRecentEnough(mediaTools.ffmpeg.version), describeMediaTools());
  assert.match(describeMediaTools(), /^ffmpeg 5\.|^ffmpeg [6-9]\./);
  assert.equal(mediaTools.fallbackReason, undefined);
});

test('versions: 5.1 and later are recent enough, 4.x and unknown are not', () => {
  for (const v of ['5.1.9-0+deb12u1', '5.1', 'n6.0', '7.1.1', '10.0']) assert.ok(isRecentEnough(v), v);
  for (const v of ['5.0.3', '4.4.2-0ubuntu', 'N-47683-g0e8eb07980-static', '', null])
    assert.ok(!isRecentEnough(v), String(v));
});

test('FFMPEG_PATH wins over PATH; a missing, broken or old system ffmpeg falls back to the packaged pair and says why', async (t) => {
  const dir = await tempDir(t);
  const system = resolveMediaTools({ PATH: '/usr/bin' });
  const explicit = resolveMediaTools({
    FFMPEG_PATH: system.ffmpeg.path,
    FFPROBE_PATH: system.ffprobe.path,
    PATH: '',
  });
  assert.equal(explicit.ffmpeg.source, 'FFMPEG_PATH');
  assert.equal(explicit.ffprobe.source, 'FFPROBE_PATH');

  const packaged = packagedTools();
  const missing = resolveMediaTools({ FFMPEG_PATH: path.join(dir, 'nowhere'), PATH: '' });
  assert.equal(missing.ffmpeg.path, packaged.ffmpeg);
  assert.equal(missing.ffprobe.path, packaged.ffprobe);
  assert.equal(missing.ffmpeg.source, 'packaged');
  assert.match(missing.fallbackReason ?? '', /FFMPEG_PATH does not run/);
  assert.ok(
    !(missing.fallbackReason ?? '').includes(dir),
    'the reason names no path (it is shown by /health)',
  );

  // An "ffmpeg" that reports 4.4 (a stand-in script: an old build is not installed here).
  const old = path.join(dir, 'ffmpeg');
  await writeFile(old, '#!/bin/sh\necho "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright"\n');
  await chmod(old, 0o755);
  const tooOld = resolveMediaTools({ PATH: `${dir}:/usr/bin` });
  assert.equal(tooOld.ffmpeg.source, 'packaged', 'both binaries come from the same side');
  assert.equal(tooOld.ffprobe.source, 'packaged');
  assert.match(tooOld.fallbackReason ?? '', /4\.4\.2.*older than 5\.1/);
  assert.match(describeMediaTools(tooOld), /\(packaged; /);
});

test('smoke: the packaged ffmpeg fallback still runs the whole pipeline', async (t) => {
  const dir = await tempDir(t);
  const input = await makeTalkClip(path.join(dir, 'talk.mp4'));
  const fixture = path.resolve('test/processing/fixtures/pipeline-once.ts');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', fixture, input, path.join(dir, 'out')], {
    env: { ...process.env, FFMPEG_PATH: path.join(dir, 'no-ffmpeg'), FFPROBE_PATH: '', PATH: '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as {
    tools: { ffmpeg: { source: string } };
    report: { segments_removed: number; edited_output: string | null; chapters: unknown[] | null };
    outputs: Array<{ name: string }>;
  };
  assert.equal(line.tools.ffmpeg.source, 'packaged');
  assert.equal(line.report.segments_removed, 2);
  assert.equal(line.report.edited_output, 'edited.mp4');
  for (const name of ['web.mp4', 'edited.mp4', 'thumbnail.jpg', 'contact-sheet.jpg', 'report.json'])
    assert.ok(
      line.outputs.some((o) => o.name === name),
      name,
    );
});

test('a binary’s version is read once and remembered until the binary changes (no -version run at every start)', async (t) => {
  const dir = await tempDir(t);
  const runs = path.join(dir, 'runs.log');
  const script = (version: string) =>
    `#!/bin/sh\necho run >> "${runs}"\necho "$(basename "$0") version ${version} Copyright"\n`;
  for (const name of ['ffmpeg', 'ffprobe']) {
    await writeFile(path.join(dir, name), script('6.0'));
    await chmod(path.join(dir, name), 0o755);
  }
  const count = async () => (await readFile(runs, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
  const first = resolveMediaTools({ PATH: dir });
  assert.equal(first.ffmpeg.version, '6.0');
  assert.equal(await count(), 2, 'each binary asked once');
  const again = resolveMediaTools({ PATH: dir });
  assert.equal(again.ffmpeg.version, '6.0');
  assert.equal(again.ffprobe.version, '6.0');
  assert.equal(await count(), 2, 'remembered: not asked again');
  // Remembered across processes too (what each command's start saves): a fresh process asks none.
  const binaries = new URL('../../src/media/binaries.ts', import.meta.url).href;
  const { stdout } = await run(process.execPath, [
    '--import',
    'tsx',
    '--input-type=module',
    '-e',
    `const m = await import(${JSON.stringify(binaries)}); console.log(m.resolveMediaTools({ PATH: ${JSON.stringify(dir)} }).ffmpeg.version);`,
  ]);
  assert.equal(stdout.trim(), '6.0');
  assert.equal(await count(), 2, 'a new process reads the versions from the cache');
  // An upgrade in place (another build): asked again, the new version used.
  await writeFile(path.join(dir, 'ffmpeg'), script('7.1.1'));
  const upgraded = resolveMediaTools({ PATH: dir });
  assert.equal(upgraded.ffmpeg.version, '7.1.1');
  assert.equal(await count(), 3);
});

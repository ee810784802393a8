import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';
import { promisify } from 'node:util';
import { startIngestServer } from '../helpers/ingest-server.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const REPO = path.resolve('.');
const TSC = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
const KEY = 'library-key';

// The package is what `npm install` gets: dist/ with its declarations, built from this tree.
before(async () => {
  await run(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: REPO });
});

/** A user's project in a temp folder with `npm install <this repo>` done (a local path: no network). */
async function userProject(dir: string): Promise<string> {
  const project = path.join(dir, 'user-app');
  await run('mkdir', ['-p', project]);
  await writeFile(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'user-app', version: '1.0.0', type: 'module', private: true }),
  );
  // --ignore-scripts: dist/ is built above (the repo's `prepare` would build it too).
  await run('npm', ['install', REPO, '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project,
  });
  return project;
}

const SCRIPT = `
import { vultrService, createStation, RecordingManager, VultrService } from 'streamai';
const [clip] = process.argv.slice(2);
const out = {};
out.classes = [typeof RecordingManager, typeof VultrService];
out.config = vultrService.getConfigInfo();
out.test = await vultrService.testConnection();
out.upload = await vultrService.uploadFile(clip, { sessionName: 'Library' });
out.status = await vultrService.getUploadStatus(out.upload.task_id);
out.list = await vultrService.listUploads(5);
out.missing = await vultrService.uploadFile(clip + '.nope');
const station = await createStation();
out.station = station.status().recorder.kind;
await station.close();
console.log(JSON.stringify(out));
`;

test('a separate project installs the package by path and uses it by name: vultrService, createStation', async (t) => {
  const dir = await tempDir(t);
  const clip = await makeClip(path.join(dir, 'talk.mkv'), { format: 'matroska', seconds: 1 });
  const { url } = await startIngestServer(t, { apiKeys: [KEY] });
  const project = await userProject(dir);
  await writeFile(path.join(project, 'app.mjs'), SCRIPT);
  const { stdout } = await run(process.execPath, ['app.mjs', clip], {
    cwd: project,
    env: {
      ...process.env,
      VULTR_API_URL: url,
      VULTR_API_KEY: KEY,
      STREAMAI_DATA_DIR: path.join(dir, 'data'),
      RECORDINGS_PATH: path.join(dir, 'recordings'),
      STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
      RECORDER: 'ffmpeg',
    },
  });
  const out = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(out.classes, ['function', 'function']);
  assert.equal(out.config!.api_url, url);
  assert.equal(out.config!.api_key_configured, true);
  assert.ok(!JSON.stringify(out.config).includes(KEY), 'no secret in the config info');
  assert.equal(out.test!.success, true, JSON.stringify(out.test));
  const upload = out.upload!;
  assert.equal(upload.success, true, JSON.stringify(upload));
  assert.match(String(upload.task_id), /^task_/);
  assert.equal(upload.file_name, 'talk.mkv');
  assert.equal(typeof upload.file_size, 'number');
  assert.match(String(upload.upload_time), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  assert.match(String(upload.sha256), /^[0-9a-f]{64}$/);
  assert.equal(out.status!.success, true);
  assert.equal(out.status!.state, 'received');
  const listed = out.list!.uploads as Array<{ task_id: string }>;
  assert.equal(listed[0]?.task_id, upload.task_id);
  assert.equal(out.missing!.success, false);
  assert.equal((out.missing!.error as { code: string }).code, 'FILE_NOT_FOUND');
  assert.equal(out.station, 'ffmpeg');
});

test('the package ships declarations: a typed user file checks, a wrong use does not', async (t) => {
  const dir = await tempDir(t);
  const project = await userProject(dir);
  const flags = [
    '--noEmit',
    '--strict',
    '--skipLibCheck',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
  ];
  await writeFile(
    path.join(project, 'good.ts'),
    `import { vultrService, createStation, type UploadFileResult } from 'streamai';
export async function send(file: string): Promise<string | null> {
  const result: UploadFileResult = await vultrService.uploadFile(file, { autoProcess: false });
  const size: number | null = result.file_size;
  void size;
  const station = await createStation({ env: { RECORDER: 'ffmpeg' } });
  await station.close();
  return result.success ? result.task_id : (result.error?.code ?? null);
}
`,
  );
  await run(process.execPath, [TSC, ...flags, 'good.ts'], { cwd: project });
  await writeFile(
    path.join(project, 'bad.ts'),
    `import { vultrService } from 'streamai';
const result = await vultrService.uploadFile('x.mkv');
const id: number = result.task_id;
export { id };
`,
  );
  await assert.rejects(
    run(process.execPath, [TSC, ...flags, 'bad.ts'], { cwd: project }),
    (error: { stdout: string }) => {
      assert.match(error.stdout, /bad\.ts.*Type 'string \| null' is not assignable to type 'number'/s);
      return true;
    },
  );
});

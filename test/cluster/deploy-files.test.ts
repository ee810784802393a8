import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/index.js';
import { envSchema } from '../../src/config/schema.js';
import { deployDir, localCommand, readDeployedEnv, readServiceUnit } from '../helpers/deploy-files.js';
import { balancerConfig } from '../helpers/nginx.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '../..');
const known = new Set(Object.keys(envSchema.shape));
const UNITS = ['streamai-ingest', 'streamai-worker'] as const;

/** What an operator writes for each `<…>` placeholder: values of the right shape. */
function filledIn(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    out[key] = value
      .replace(/<port>/g, '16751')
      .replace(/<node private address[^>]*>/g, '10.1.96.11')
      .replace(/<region[^>]*>/g, 'ewr1')
      .replace(/<bucket[^>]*>/g, 'streamai-recordings')
      .replace(/<[^>]*>/g, 'placeholder');
  }
  return out;
}

test('the systemd units pass systemd-analyze verify and name env files that deploy/env ships', async (t) => {
  const dir = await tempDir(t);
  for (const name of UNITS) {
    const unit = await readServiceUnit(name);
    assert.match(unit.environmentFile, /^\/etc\/streamai\/[a-z]+\.env$/, `${name}: EnvironmentFile`);
    const env = await readDeployedEnv(unit.environmentFile);
    assert.ok(
      Object.keys(env).length > 0,
      `${name}: deploy/env/${path.basename(unit.environmentFile)} is not empty`,
    );
    assert.equal(unit.service.StateDirectory, 'streamai', `${name}: /var/lib/streamai for INGEST_DATA_DIR`);
    assert.equal(env.INGEST_DATA_DIR, '/var/lib/streamai', `${name}: INGEST_DATA_DIR is the StateDirectory`);
    await copyFile(path.join(deployDir, 'systemd', `${name}.service`), path.join(dir, `${name}.service`));
  }
  // verify exits 0 even for settings it ignores; what it prints is the finding.
  const { stdout, stderr } = await run('systemd-analyze', [
    'verify',
    ...UNITS.map((n) => path.join(dir, `${n}.service`)),
  ]);
  assert.equal(`${stdout}${stderr}`.trim(), '', 'systemd-analyze verify has nothing to say');
});

test('every unit runs a real streamai command with options it has', async () => {
  for (const [name, command] of [
    ['streamai-ingest', 'ingest'],
    ['streamai-worker', 'worker'],
  ] as const) {
    const { command: node, args } = localCommand(await readServiceUnit(name));
    assert.equal(args[3], command, `${name} runs streamai ${command}`);
    const { stdout } = await run(node, [...args.slice(0, 4), '--help'], { cwd: root });
    for (const flag of args.slice(4).filter((a) => a.startsWith('--'))) {
      assert.ok(stdout.includes(flag), `${name}: streamai ${command} has ${flag}`);
    }
  }
});

test('every variable of the deployed env files is one StreamAI reads', async () => {
  for (const name of UNITS) {
    const unit = await readServiceUnit(name);
    const env = await readDeployedEnv(unit.environmentFile);
    for (const key of Object.keys(env)) {
      assert.ok(known.has(key), `${path.basename(unit.environmentFile)}: ${key} is in src/config/schema.ts`);
    }
  }
});

test('the deployed env files, filled in, load as a cluster configuration', async () => {
  for (const name of UNITS) {
    const unit = await readServiceUnit(name);
    const config = loadConfig({
      env: filledIn(await readDeployedEnv(unit.environmentFile)),
      envFile: false,
    });
    assert.equal(config.storage.ingestStorage, 's3', `${name}: files in the bucket`);
    assert.equal(config.storage.s3?.endpoint, 'https://ewr1.vultrobjects.com');
    assert.match(config.cluster.databaseUrl ?? '', /^postgres:\/\//, `${name}: shared state on PostgreSQL`);
    assert.equal(config.cluster.queue?.backend, 'postgres', `${name}: jobs on BullMQ`);
  }
});

test('the nginx server block is valid for nginx -t and streams bodies to the nodes', async (t) => {
  const dir = await tempDir(t);
  await mkdir(dir, { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, await balancerConfig(dir, ['127.0.0.1:8081', '127.0.0.1:8082'], 8080));
  const { stderr } = await run('nginx', ['-t', '-p', dir, '-c', conf]);
  assert.match(stderr, /syntax is ok/);
  const block = await readFile(path.join(deployDir, 'nginx', 'streamai-ingest.conf'), 'utf8');
  // Recordings are gigabytes: no size cap and no buffering at the balancer (the nodes enforce limits).
  assert.match(block, /client_max_body_size 0;/);
  assert.match(block, /proxy_request_buffering off;/);
  // A node that is down: the next one answers (tus resumes there).
  assert.match(block, /proxy_next_upstream [^;]*\berror\b/);
});

test('docs/DEPLOY.md names every deploy/ file and only variables StreamAI reads', async () => {
  const doc = await readFile(path.join(root, 'docs/DEPLOY.md'), 'utf8');
  for (const folder of await readdir(deployDir)) {
    for (const file of await readdir(path.join(deployDir, folder))) {
      assert.ok(doc.includes(`deploy/${folder}/${file}`), `DEPLOY.md mentions deploy/${folder}/${file}`);
    }
  }
  const names = doc.match(/\b(?:INGEST|S3|QUEUE|DATABASE|VULTR|STREAMAI|UPLOAD)_[A-Z0-9_]+\b/g) ?? [];
  assert.ok(names.length > 10, 'DEPLOY.md names its settings');
  for (const name of new Set(names))
    assert.ok(known.has(name), `DEPLOY.md: ${name} is in src/config/schema.ts`);
});

#!/usr/bin/env node
// `npm test`: makes sure the Debian packages the tests talk to are installed (installing them
// when run as root, as CI does; otherwise printing the one command to run), then runs every
// test/**/*.test.ts with node's test runner. Nothing is skipped silently for lack of a tool.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Commands the tests need, and the Debian package that provides each. */
export const REQUIRED = [
  { command: 'openssl', pkg: 'openssl' },
  { command: 'curl', pkg: 'curl' },
  { command: 'obs', pkg: 'obs-studio' },
  { command: 'Xvfb', pkg: 'xvfb' },
  { command: 'chromium', pkg: 'chromium' },
];

function has(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function ensurePackages() {
  const missing = [...new Set(REQUIRED.filter((r) => !has(r.command)).map((r) => r.pkg))];
  if (missing.length === 0) return;
  const install = `apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`The tests need Debian packages that are not installed: ${missing.join(', ')}.`);
    console.error(`Run this once, then npm test again:\n\n  sudo sh -c '${install}'\n`);
    process.exit(1);
  }
  console.log(`Installing Debian packages the tests need: ${missing.join(', ')}`);
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${install}`], { stdio: 'inherit' });
}

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

ensurePackages();
const args = process.argv.slice(2);
const files = args.length > 0 ? args : findTests('test');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.TEST_CONCURRENCY ?? '1'}`,
    '--test-reporter=spec',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);

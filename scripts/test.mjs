#!/usr/bin/env node
// `npm test`: makes sure the Debian packages the tests talk to are installed (installing them
// when run as root, as CI does; otherwise printing the one command to run), then runs every
// test/**/*.test.ts with node's test runner. Nothing is skipped silently for lack of a tool.
// The fault suite (test/faults/) has its own runner, `npm run test:faults`
// (scripts/test-faults.mjs): it kills processes and fills disks, so it is not part of `npm test`.
import { spawnSync } from 'node:child_process';
import { ensurePackages, findTests } from './test-deps.mjs';

export { REQUIRED } from './test-deps.mjs';

ensurePackages();
const args = process.argv.slice(2);
const files = args.length > 0 ? args : findTests('test', ['test/faults']);
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

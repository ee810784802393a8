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
// Two test files at a time: most of a test's time is spent waiting on real processes (ffmpeg
// recording in real time, OBS, PostgreSQL, Swift, a server restarting), not on a core, so two
// files share a 2-core machine well: 7 min against 12+ one file at a time, which keeps the two
// CI legs (Node 20 and 24) and the fault suite within 30 minutes. Every test picks free ports and
// its own temporary folders, so files never share state. TEST_CONCURRENCY=1 runs them one by one.
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);

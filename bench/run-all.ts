/**
 * `npm run bench`: every benchmark, one after the other (they would disturb each other's
 * figures if run together). Each prints its own table; docs/BENCHMARKS.md records them.
 */
import { spawnSync } from 'node:child_process';

const benches = [
  'bench:ingest',
  'bench:upload',
  'bench:processing',
  'bench:station',
  'bench:s3',
  'bench:scale',
  'bench:segments',
  'bench:join',
];
let failed = 0;
for (const name of benches) {
  process.stdout.write(`\n=== npm run ${name} ===\n`);
  const result = spawnSync('npm', ['run', '--silent', name], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed += 1;
    process.stdout.write(`${name} failed with exit code ${String(result.status)}\n`);
  }
}
process.exit(failed === 0 ? 0 : 1);

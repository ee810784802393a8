// The Debian packages the tests (and the fault suite) talk to, and how to tell each is
// installed. Shared by scripts/test.mjs and scripts/test-faults.mjs. Presence is checked by a
// file or a command the tests really use, not by asking dpkg, so that a package installed some
// other way (or a path the tests cannot reach) is judged the way the tests will meet it.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Each entry: the Debian package, and how the tests find what it provides. `file` may hold one
 * `*` in a folder name (PostgreSQL's major version), `python` is a module imported by Debian's
 * /usr/bin/python3 (a pyenv python earlier on PATH does not see Debian's modules).
 */
export const REQUIRED = [
  { pkg: 'obs-studio', file: '/usr/bin/obs' },
  { pkg: 'xvfb', file: '/usr/bin/Xvfb' },
  { pkg: 'chromium', file: '/usr/bin/chromium' },
  { pkg: 'openssl', file: '/usr/bin/openssl' },
  { pkg: 'curl', file: '/usr/bin/curl' },
  { pkg: 'ffmpeg', file: '/usr/bin/ffmpeg' },
  { pkg: 'python3-swift', python: 'swift' },
  { pkg: 'memcached', file: '/usr/bin/memcached' },
  { pkg: 'postgresql', file: '/usr/lib/postgresql/*/bin/initdb' },
  { pkg: 'redis-server', file: '/usr/bin/redis-server' },
  { pkg: 'nginx-light', file: '/usr/sbin/nginx' },
  // systemd-analyze verify checks the shipped units (test/cluster/deploy-files.test.ts).
  { pkg: 'systemd', file: '/usr/bin/systemd-analyze' },
  { pkg: 'pocketsphinx', file: '/usr/bin/pocketsphinx_continuous' },
  { pkg: 'pocketsphinx-en-us', file: '/usr/share/pocketsphinx/model/en-us/en-us' },
  { pkg: 'espeak-ng', file: '/usr/bin/espeak-ng' },
  { pkg: 'rclone', file: '/usr/bin/rclone' },
];

/** Does `pattern` (an absolute path, at most one `*` standing for a whole folder name) exist? */
function fileExists(pattern) {
  const parts = pattern.split('/');
  const star = parts.findIndex((p) => p === '*');
  if (star < 0) return existsSync(pattern);
  const parent = parts.slice(0, star).join('/') || '/';
  if (!existsSync(parent)) return false;
  return readdirSync(parent).some((name) => existsSync(path.join(parent, name, ...parts.slice(star + 1))));
}

function present(req) {
  if (req.file) return fileExists(req.file);
  if (req.python) {
    return spawnSync('/usr/bin/python3', ['-c', `import ${req.python}`], { stdio: 'ignore' }).status === 0;
  }
  return false;
}

/** The packages whose check fails, in REQUIRED's order. */
export function missingPackages() {
  return [...new Set(REQUIRED.filter((r) => !present(r)).map((r) => r.pkg))];
}

/**
 * Installs what is missing when run as root (as CI does); otherwise prints the one command to
 * run and exits 1 — a test never skips silently for lack of a tool.
 */
export function ensurePackages() {
  const missing = missingPackages();
  if (missing.length === 0) return;
  const install = `apt-get update && apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) {
    console.error(`The tests need Debian packages that are not installed: ${missing.join(', ')}.`);
    console.error(`Run this once, then run the tests again:\n\n  sudo sh -c '${install}'\n`);
    process.exit(1);
  }
  console.log(`Installing Debian packages the tests need: ${missing.join(', ')}`);
  execFileSync('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${install}`], { stdio: 'inherit' });
  const still = missingPackages();
  if (still.length > 0) {
    console.error(`Installed, but still not found: ${still.join(', ')} (see scripts/test-deps.mjs).`);
    process.exit(1);
  }
}

/** test/**\/*.test.ts under `dir`, sorted; folders named in `skip` are left out. */
export function findTests(dir, skip = []) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!skip.includes(full)) out.push(...findTests(full, skip));
    } else if (entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

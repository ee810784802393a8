#!/usr/bin/env node
// Thin launcher: `npm install` builds dist/ through the `prepare` script.
import { mkdirSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Node's on-disk compile cache (Node >= 22.1; absent on Node 20, hence `?.`): a later start
 * reuses the V8 code of every module instead of compiling it again. It lives in
 * NODE_COMPILE_CACHE when set (Node then enables it itself, before this file runs), else in
 * <os.tmpdir()>/node-compile-cache; NODE_DISABLE_COMPILE_CACHE=1 turns it off. Node reports a
 * folder it cannot use in the returned status instead of throwing, but its recursive mkdir spins
 * forever where mkdir answers ENOENT under a parent that exists (a TMPDIR inside /proc; Node 20
 * and 24 alike, fs.mkdirSync(…, { recursive: true }) too). So the folder is made here first, one
 * level, and the cache turned on only when that worked: a cache is never a reason for the
 * command not to run.
 */
function enableCompileCache() {
  if (typeof module.enableCompileCache !== 'function') return;
  if (process.env.NODE_COMPILE_CACHE || process.env.NODE_DISABLE_COMPILE_CACHE === '1') return;
  try {
    mkdirSync(path.join(tmpdir(), 'node-compile-cache'));
  } catch (error) {
    if (error?.code !== 'EEXIST') return;
  }
  try {
    module.enableCompileCache();
  } catch {
    // start without it
  }
}

enableCompileCache();

import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('streamai: not built yet — run `npm run build` (npm install does it for you).');
    process.exit(1);
  }
  throw error;
});

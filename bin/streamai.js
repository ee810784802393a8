#!/usr/bin/env node
// Thin launcher: `npm install` builds dist/ through the `prepare` script.
import module from 'node:module';

// Node's on-disk compile cache (Node >= 22.1; absent on Node 20, hence `?.`): a later start
// reuses the V8 code of every module instead of compiling it again. It lives in
// NODE_COMPILE_CACHE when set, else <os.tmpdir()>/node-compile-cache; NODE_DISABLE_COMPILE_CACHE=1
// turns it off. Node reports a failure (an unwritable folder) in the returned status rather than
// throwing; the try is for anything else: a cache is never a reason for the command not to run.
try {
  module.enableCompileCache?.();
} catch {
  // start without it
}

import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('streamai: not built yet — run `npm run build` (npm install does it for you).');
    process.exit(1);
  }
  throw error;
});

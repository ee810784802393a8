#!/usr/bin/env node
// Thin launcher: `npm install` builds dist/ through the `prepare` script.
import('../dist/cli/main.js').catch((error) => {
  if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/cli/main.js')) {
    console.error('streamai: not built yet — run `npm run build` (npm install does it for you).');
    process.exit(1);
  }
  throw error;
});

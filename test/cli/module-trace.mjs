// `node --import ./module-trace.mjs`: installs module-trace-hooks.mjs before the program starts,
// and at exit appends every CommonJS module in require's cache to the same file: the hooks see
// each ES module and the entry of a package an ES module imports, the cache also what CommonJS
// packages require of each other (ws below obs-websocket-js, say).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

register('./module-trace-hooks.mjs', import.meta.url);

const require = createRequire(import.meta.url);
process.on('exit', () => {
  const files = Object.keys(require.cache).map((file) => `${pathToFileURL(file).href}\n`);
  appendFileSync(process.env.STREAMAI_TRACE_MODULES, files.join(''));
});

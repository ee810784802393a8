#!/usr/bin/env node
// Builds the station's web page into dist/web: TypeScript through tsc, HTML and CSS copied.
// No bundler and no CDN: the page is a few ES modules that work offline.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'web/tsconfig.json'], { stdio: 'inherit' });
mkdirSync('dist/web', { recursive: true });
for (const file of ['index.html', 'styles.css']) copyFileSync(`web/${file}`, `dist/web/${file}`);

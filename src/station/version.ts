import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** This program's version, from package.json (two folders up from src/ and from dist/). */
export const packageVersion: string = (require('../../package.json') as { version: string }).version;

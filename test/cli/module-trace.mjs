// `node --import ./module-trace.mjs`: installs module-trace-hooks.mjs before the program starts.
import { register } from 'node:module';

register('./module-trace-hooks.mjs', import.meta.url);

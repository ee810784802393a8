// Module hooks (node:module register) for cli-module-graph.test.ts: appends the URL of every
// module the ESM loader loads to the file named by STREAMAI_TRACE_MODULES, one a line.
import { appendFileSync } from 'node:fs';
import process from 'node:process';

export async function load(url, context, nextLoad) {
  appendFileSync(process.env.STREAMAI_TRACE_MODULES, `${url}\n`);
  return nextLoad(url, context);
}

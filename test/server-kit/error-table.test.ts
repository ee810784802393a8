import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { ERROR_CODES, exitCodeFor, httpStatusFor, type ErrorCode } from '../../src/errors/index.js';
import { codeForStatus } from '../../src/server-kit/index.js';

const root = path.resolve(import.meta.dirname, '../..');

/** The rows of README's "Errors" table: code → [status, exit]. */
async function readmeErrors(): Promise<Map<string, [number, number]>> {
  const readme = await readFile(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors');
  assert.ok(start >= 0, 'README.md has an "## Errors" section');
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, [number, number]>();
  for (const line of readme.slice(start, end === -1 ? undefined : end).split('\n')) {
    const match = /^\| `([A-Z_0-9]+)` \| (\d{3}) \| (\d+) \|/.exec(line);
    if (match) rows.set(match[1]!, [Number(match[2]), Number(match[3])]);
  }
  return rows;
}

test('every error code has an HTTP status, a CLI exit code and its line in README', async () => {
  const documented = await readmeErrors();
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    const status = httpStatusFor(code);
    const exit = exitCodeFor(code);
    assert.ok(Number.isInteger(status) && status >= 400 && status < 600, `${code}: status ${status}`);
    assert.ok(Number.isInteger(exit) && exit > 0 && exit < 126, `${code}: exit ${exit}`);
    assert.deepEqual(documented.get(code), [status, exit], `README's Errors line for ${code}`);
  }
  for (const code of documented.keys()) assert.ok(code in ERROR_CODES, `README lists unknown code ${code}`);
});

test('a status that arrives without a code maps to a code with that same status', () => {
  for (const status of [401, 403, 404, 408, 409, 410, 412, 413, 414, 415, 423, 431, 507]) {
    assert.equal(httpStatusFor(codeForStatus(status)), status, String(status));
  }
  assert.equal(codeForStatus(418), 'BAD_REQUEST');
  assert.equal(codeForStatus(502), 'INTERNAL_ERROR');
});

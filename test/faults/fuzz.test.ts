import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { freePort } from '../helpers/fault-proxy.js';
import { tempDir } from '../helpers/temp-dir.js';
import {
  scenario,
  seededRandom,
  spawnStreamai,
  startIngest,
  stationEnv,
  waitForOutput,
  type CliProcess,
} from './support.js';

const RUNS = 500;
/** Marks file names a traversal would create, so an escape is easy to find. */
const MARK = 'fuzzescape';

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends raw bytes on a new loopback connection; the answer, or status 0 when none came in 10 s. */
function rawRequest(port: number, bytes: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      // Interim answers (100 Continue) come first; the final one is what counts.
      const text = Buffer.concat(chunks)
        .toString('latin1')
        .replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const at = line.indexOf(':');
        if (at > 0) headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
      }
      resolve({ status, headers, body: rest.join('\r\n\r\n') });
    });
  });
}

const traversal = fc.constantFrom(
  '../',
  '..%2f',
  '%2e%2e/',
  '%2e%2e%2f',
  '..\\',
  '%252e%252e%252f',
  '....//',
  '%00',
  '//',
  `${MARK}.txt`,
  'secret.txt',
  'etc/passwd',
  '.tus/',
  'ingest.db',
  '%c0%ae%c0%ae/',
  '~',
);
const b64 = (s: string): string => Buffer.from(s).toString('base64');

/** Printable, no spaces: what can stand in a request line (plus a few bytes that cannot). */
const pathText = fc
  .string({ unit: 'grapheme', maxLength: 40 })
  .map((s) => encodeURI(s).replace(/%25/g, '%'))
  .chain((s) => fc.constantFrom(s, s.replace(/[a-z]/g, '\u0001'), `${s}#x`, `${s}?limit=${s}`));

interface Hostile {
  method: string;
  path: string;
  host: { value: string; foreign: boolean };
  origin: string | null;
  headers: Array<[string, string]>;
  body: { contentType: string | null; bytes: Buffer };
}

function hostileRequest(routes: string[], port: number): fc.Arbitrary<Hostile> {
  const here = `127.0.0.1:${port}`;
  const host = fc.constantFrom(
    { value: here, foreign: false },
    { value: `localhost:${port}`, foreign: false },
    { value: `[::1]:${port}`, foreign: false },
    { value: 'evil.example', foreign: true },
    { value: `evil.example:${port}`, foreign: true },
    { value: `127.0.0.1.nip.io:${port}`, foreign: true },
    { value: '192.168.1.10', foreign: true },
    { value: '', foreign: true },
  );
  const name = fc.oneof(
    traversal.map((t) => `${t}${MARK}.mkv`),
    fc.array(traversal, { maxLength: 6 }).map((parts) => `${parts.join('')}${MARK}.mkv`),
    fc.string({ maxLength: 30 }),
  );
  const multipart = fc
    .record({
      taskId: fc.oneof(name, fc.constant('task_fuzz_1')),
      fileName: name,
      data: fc.uint8Array({ maxLength: 512 }),
    })
    .map(({ taskId, fileName, data }) => {
      const b = 'fuzzboundary';
      return {
        contentType: `multipart/form-data; boundary=${b}`,
        bytes: Buffer.concat([
          Buffer.from(
            `--${b}\r\ncontent-disposition: form-data; name="task_id"\r\n\r\n${taskId}\r\n` +
              `--${b}\r\ncontent-disposition: form-data; name="file"; filename="${fileName}"\r\ncontent-type: video/mp4\r\n\r\n`,
          ),
          Buffer.from(data),
          Buffer.from(`\r\n--${b}--\r\n`),
        ]),
      };
    });
  const body = fc.oneof(
    fc.constant({ contentType: null, bytes: Buffer.alloc(0) }),
    fc.json({ maxDepth: 3 }).map((j) => ({ contentType: 'application/json', bytes: Buffer.from(j) })),
    fc
      .record({ sessionName: fc.string({ maxLength: 300 }), recording_id: name, auto_process: fc.anything() })
      .map((o) => ({ contentType: 'application/json', bytes: Buffer.from(JSON.stringify(o)) })),
    fc.record({
      contentType: fc.constantFrom(
        'application/offset+octet-stream',
        'application/octet-stream',
        'text/plain',
        'application/json',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'video/mp4; charset=\u00ff',
      ),
      bytes: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
    }),
    multipart,
  );
  const tusHeader = fc.oneof(
    fc.constantFrom('1.0.0', '0.2.2', 'x').map((v): [string, string] => ['Tus-Resumable', v]),
    fc
      .oneof(fc.integer().map(String), fc.constantFrom('-1', '1e99', '99999999999999999999', '', '0x10'))
      .chain((v) => fc.constantFrom<[string, string]>(['Upload-Length', v], ['Upload-Offset', v])),
    fc.constantFrom<[string, string]>(['Upload-Defer-Length', '1'], ['Upload-Defer-Length', '2']),
    fc
      .tuple(name, name)
      .map(([file, task]): [string, string] => [
        'Upload-Metadata',
        `filename ${b64(file)},task_id ${b64(task)},x`,
      ]),
    fc.constantFrom('PATCH', 'DELETE', 'GET').map((v): [string, string] => ['X-HTTP-Method-Override', v]),
    fc.string({ maxLength: 60 }).map((v): [string, string] => ['Authorization', `Bearer ${v}`]),
    fc.constantFrom<[string, string]>(
      ['Sec-Fetch-Site', 'cross-site'],
      ['Range', 'bytes=0-1'],
      ['Expect', '100-continue'],
    ),
    fc.stringMatching(/^[0-9a-f]{0,70}$/).map((v): [string, string] => ['Upload-Sha256', v]),
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'),
    path: fc.oneof(
      fc
        .tuple(fc.constantFrom(...routes), fc.array(fc.oneof(traversal, pathText), { maxLength: 4 }))
        .map(([r, p]) => r + p.join('')),
      fc.array(traversal, { minLength: 1, maxLength: 8 }).map((p) => `/${p.join('')}`),
      pathText.map((p) => `/${p}`),
    ),
    host,
    origin: fc.option(fc.constantFrom('http://evil.example', 'null', `http://${here}`, 'file://'), {
      nil: null,
    }),
    headers: fc.array(tusHeader, { maxLength: 4 }),
    body,
  });
}

function encode(req: Hostile): Buffer {
  const lines = [`${req.method} ${req.path || '/'} HTTP/1.1`, `Host: ${req.host.value}`, 'Connection: close'];
  if (req.origin !== null) lines.push(`Origin: ${req.origin}`);
  for (const [k, v] of req.headers) lines.push(`${k}: ${v}`);
  if (req.body.contentType !== null) lines.push(`Content-Type: ${req.body.contentType}`);
  if (req.body.bytes.length > 0 || req.method === 'POST')
    lines.push(`Content-Length: ${req.body.bytes.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), req.body.bytes]);
}

/** Every file name under `dir`, relative, except in the folders a server may write to. */
async function listOutside(dir: string, allowed: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full);
    if (allowed.some((a) => rel === a || rel.startsWith(`${a}${path.sep}`))) continue;
    out.push(rel);
  }
  return out.sort();
}

async function fuzzServer(
  t: TestContext,
  options: {
    id: string;
    title: string;
    dir: string;
    port: number;
    cli: CliProcess;
    routes: string[];
    allowed: string[];
  },
): Promise<void> {
  const figures = scenario(
    t,
    options.id,
    options.title,
    `${RUNS} hostile requests: no 5xx, no crash, no file outside its folders, no CORS, no foreign Host`,
  );
  const rng = seededRandom(options.id);
  figures.notes.push(`fast-check seed ${rng.seed}`);
  const secret = randomBytes(16).toString('hex');
  await writeFile(path.join(options.dir, 'secret.txt'), secret);
  const before = await listOutside(options.dir, options.allowed);
  const statuses = new Map<string, number>();
  let runs = 0;
  // Every request runs (no stop at the first failure, no shrinking): each kind of violation is
  // counted, with its first example, so the report shows all of them.
  const violations = new Map<string, { count: number; example: string }>();
  const violation = (kind: string, example: string): void => {
    const seen = violations.get(kind);
    if (seen) seen.count += 1;
    else violations.set(kind, { count: 1, example });
  };
  await fc.assert(
    fc.asyncProperty(hostileRequest(options.routes, options.port), async (req) => {
      runs += 1;
      const answer = await rawRequest(options.port, encode(req));
      const what = `${req.method} ${req.path} (Host ${JSON.stringify(req.host.value)}, Origin ${req.origin}) → ${answer.status}`;
      if (options.cli.child.exitCode !== null || options.cli.child.signalCode !== null) {
        throw new Error(`the server died after ${what}: ${options.cli.stderr.slice(-500)}`);
      }
      if (answer.status === 0) violation('no answer', what);
      if (answer.status >= 500) violation('5xx', `${what} ${answer.body.slice(0, 200)}`);
      const cors = answer.headers['access-control-allow-origin'];
      if (cors !== undefined) violation(`CORS (Access-Control-Allow-Origin: ${cors})`, what);
      if (req.host.foreign && answer.status > 0 && answer.status < 400)
        violation('foreign Host accepted', what);
      if (answer.body.includes(secret)) violation('file from outside served', what);
      const family = `${Math.floor(answer.status / 100)}xx`;
      statuses.set(family, (statuses.get(family) ?? 0) + 1);
    }),
    { numRuns: RUNS, seed: rng.seed | 0, endOnFailure: true },
  );
  for (const [kind, { count, example }] of violations) {
    figures.count(`violations: ${kind}`, count);
    figures.notes.push(`${kind}, e.g. ${example}`);
  }
  figures.faults = runs;
  for (const [family, n] of [...statuses].sort()) figures.count(family, n);
  const after = await listOutside(options.dir, options.allowed);
  assert.deepEqual(after, before, 'no file created outside the data folders');
  const escaped = (await readdir('/tmp')).filter((n) => n.includes(MARK));
  assert.deepEqual(escaped, [], 'nothing written to /tmp by a traversal');
  assert.deepEqual(
    [...violations].map(([kind, v]) => `${v.count}× ${kind}, e.g. ${v.example}`),
    [],
    'no violation',
  );
  figures.pass();
}

test(`fuzz: ${RUNS} hostile requests to the ingest server`, async (t) => {
  const dir = await tempDir(t, 'streamai-fault-fuzz-ingest-');
  const port = await freePort();
  const ingest = await startIngest(t, { dir, dataDir: path.join(dir, 'ingest-data'), port });
  await fuzzServer(t, {
    id: 'fuzz-ingest',
    title: 'fuzz: hostile requests to `streamai ingest`',
    dir,
    port,
    cli: ingest.cli,
    routes: [
      '/',
      '/health',
      '/upload',
      '/files/',
      '/files/abc',
      '/status/',
      '/status/task_x',
      '/uploads',
      '/outputs/',
    ],
    allowed: ['ingest-data', 'logs'],
  });
});

test(`fuzz: ${RUNS} hostile requests to the station`, async (t) => {
  const dir = await tempDir(t, 'streamai-fault-fuzz-station-');
  const ingestPort = await freePort();
  const ingest = await startIngest(t, { dir, dataDir: path.join(dir, 'ingest-data'), port: ingestPort });
  const port = await freePort();
  const station = spawnStreamai(
    t,
    ['serve'],
    stationEnv(dir, port, ingest.url),

    dir,
  );
  await waitForOutput(station, /Press Ctrl-C/);
  await fuzzServer(t, {
    id: 'fuzz-station',
    title: 'fuzz: hostile requests to the station (`streamai serve`)',
    dir,
    port,
    cli: station,
    routes: [
      '/',
      '/index.html',
      '/app.js',
      '/api/status',
      '/api/recordings',
      '/api/recordings/',
      '/api/recording/start',
      '/api/recording/stop',
      '/api/vultr/upload',
      '/api/vultr/upload/status/',
      '/api/vultr/uploads',
      '/api/login',
      '/api/docs',
      '/api/docs/json',
    ],
    allowed: ['ingest-data', 'logs', 'data', 'recordings'],
  });
});

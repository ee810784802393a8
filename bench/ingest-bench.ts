/**
 * `npm run bench:ingest`: uploads one file (1 GiB by default; BENCH_INGEST_BYTES to change) with
 * curl to the ingest server's POST /upload, to its tus endpoint (one PATCH), and to a minimal
 * Node sink that only writes the body to the same disk, and prints MB/s for each and the ingest
 * server's peak RSS (VmHWM). Each upload runs BENCH_INGEST_RUNS times (default 2); the best run
 * counts, because the machine is shared. Both the ingest server and the sink fsync the file
 * before answering, so they promise the same durability.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeRandomFile } from '../test/ingest/ingest-support.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bytes = Number(process.env.BENCH_INGEST_BYTES ?? 1024 ** 3);
const runs = Number(process.env.BENCH_INGEST_RUNS ?? 2);

const SINK = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const { pipeline } = require('node:stream/promises');
let n = 0;
http.createServer(async (req, res) => {
  const file = path.join(process.argv[1], 'sink-' + n++ + '.bin');
  const out = fs.createWriteStream(file);
  await pipeline(req, out);
  const fd = fs.openSync(file, 'r+'); fs.fsyncSync(fd); fs.closeSync(fd);
  fs.rmSync(file);
  res.end('ok');
}).listen(0, '127.0.0.1', function () { console.log('listening on http://127.0.0.1:' + this.address().port); });
`;

function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (https?:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
  });
}

async function curl(args: string[]): Promise<{ seconds: number; code: number; headers: string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code} %{time_total}', ...args], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const lines = stdout.trimEnd().split('\n');
  const [code, seconds] = (lines.pop() ?? '').split(' ');
  return { seconds: Number(seconds), code: Number(code), headers: lines.join('\n') };
}

async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}

const mbps = (seconds: number): number => bytes / 1e6 / seconds;

/**
 * Compiles the sources with tsc into a private folder (package.json copied, node_modules
 * linked), so the server runs as `npx streamai ingest` does — plain node, no TypeScript loader
 * in its memory — without touching the shared dist/. Returns the server's entry script.
 */
async function buildServer(dir: string): Promise<string> {
  const build = path.join(dir, 'build');
  await mkdir(build, { recursive: true });
  await copyFile(path.join(root, 'package.json'), path.join(build, 'package.json'));
  await symlink(path.join(root, 'node_modules'), path.join(build, 'node_modules'));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type errors elsewhere in a work tree must not stop the benchmark: tsc still emits.
  await run(
    process.execPath,
    [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', path.join(build, 'dist')],
    {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    },
  ).catch(() => undefined);
  await access(path.join(build, 'dist', 'ingest', 'index.js'));
  // What `streamai ingest` does, without loading every other command's modules (a work tree may
  // hold another part half-written).
  const entry = path.join(build, 'ingest-entry.mjs');
  await writeFile(
    entry,
    `import { loadConfig } from './dist/config/index.js';
import { createLogger } from './dist/logging/index.js';
import { IngestServer, ingestOptionsFromConfig } from './dist/ingest/index.js';
const config = loadConfig({ envFile: false });
const options = ingestOptionsFromConfig(config, createLogger({ level: config.logLevel, file: config.logFile }));
options.port = 0;
options.dataDir = process.argv[2];
const server = new IngestServer(options);
console.log('listening on ' + (await server.start()));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
`,
  );
  return entry;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-ingest-'));
  const children: ChildProcess[] = [];
  try {
    const file = path.join(dir, 'bench.mkv');
    process.stdout.write(`writing ${bytes} random bytes to ${file}\n`);
    await writeRandomFile(file, bytes);

    const entry = await buildServer(dir);
    const ingest = spawn(process.execPath, [entry, path.join(dir, 'data')], {
      cwd: root,
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        STREAMAI_LOG_FILE: path.join(dir, 'logs', 'streamai.log'),
        INGEST_API_KEYS: '',
        INGEST_DISK_RESERVE_BYTES: '0',
        INGEST_MAX_UPLOAD_BYTES: String(bytes * 2),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(ingest);
    const sink = spawn(process.execPath, ['-e', SINK, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(sink);
    const [ingestUrl, sinkUrl] = await Promise.all([waitForUrl(ingest), waitForUrl(sink)]);
    const idleRss = await peakRss(ingest.pid ?? 0);
    const phaseRss: Record<string, number> = {};

    const best = { sink: Infinity, multipart: Infinity, tus: Infinity };
    for (let i = 0; i < runs; i++) {
      const s = await curl(['-o', '/dev/null', '-T', file, '-X', 'POST', `${sinkUrl}/`]);
      if (s.code !== 200) throw new Error(`sink answered ${s.code}`);
      best.sink = Math.min(best.sink, s.seconds);

      const m = await curl([
        '-o',
        '/dev/null',
        '-F',
        `task_id=bench-multipart-${i}`,
        '-F',
        'session_name=bench',
        '-F',
        'auto_process=false',
        '-F',
        'upload_time=2024-01-05 14:30:00',
        '-F',
        `file=@${file};type=video/mp4`,
        `${ingestUrl}/upload`,
      ]);
      if (m.code !== 200) throw new Error(`POST /upload answered ${m.code}`);
      best.multipart = Math.min(best.multipart, m.seconds);
      phaseRss.multipart = await peakRss(ingest.pid ?? 0);
      await rm(path.join(dir, 'data', `bench-multipart-${i}`), { recursive: true, force: true });

      const meta = `filename ${Buffer.from('bench.mkv').toString('base64')},task_id ${Buffer.from(`bench-tus-${i}`).toString('base64')}`;
      const created = await curl([
        '-D',
        '-',
        '-o',
        '/dev/null',
        '-X',
        'POST',
        '-H',
        'Tus-Resumable: 1.0.0',
        '-H',
        `Upload-Length: ${bytes}`,
        '-H',
        `Upload-Metadata: ${meta}`,
        `${ingestUrl}/files/`,
      ]);
      const location = /^location:\s*(\S+)/im.exec(created.headers)?.[1];
      if (created.code !== 201 || !location) throw new Error(`tus creation answered ${created.code}`);
      const t = await curl([
        '-o',
        '/dev/null',
        '-X',
        'PATCH',
        '-T',
        file,
        '-H',
        'Tus-Resumable: 1.0.0',
        '-H',
        'Upload-Offset: 0',
        '-H',
        'Content-Type: application/offset+octet-stream',
        new URL(location, ingestUrl).toString(),
      ]);
      if (t.code !== 204) throw new Error(`tus PATCH answered ${t.code}`);
      best.tus = Math.min(best.tus, t.seconds);
      phaseRss.tus = await peakRss(ingest.pid ?? 0);
      await rm(path.join(dir, 'data', `bench-tus-${i}`), { recursive: true, force: true });
    }
    const rss = await peakRss(ingest.pid ?? 0);

    const line = (name: string, seconds: number): string =>
      `${name.padEnd(22)} ${mbps(seconds).toFixed(1).padStart(8)} MB/s  (${seconds.toFixed(2)} s, ${(
        (100 * best.sink) /
        seconds
      ).toFixed(0)}% of the sink)\n`;
    process.stdout.write(`\nfile: ${(bytes / 1024 ** 2).toFixed(0)} MiB, best of ${runs} runs each\n`);
    process.stdout.write(line('node sink (raw body)', best.sink));
    process.stdout.write(line('ingest POST /upload', best.multipart));
    process.stdout.write(line('ingest tus PATCH', best.tus));
    const mib = (n: number | undefined): string => `${((n ?? 0) / 1024 ** 2).toFixed(1)} MiB`;
    process.stdout.write(
      `ingest server peak RSS: ${mib(rss)} (after start ${mib(idleRss)}, after the first POST /upload ${mib(phaseRss.multipart)})\n`,
    );
  } finally {
    for (const child of children) {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

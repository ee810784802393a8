/**
 * `npm run bench:upload`: the upload client against curl, to the same ingest server, in one run.
 *
 * Compiles the sources with tsc into a private folder and runs `streamai upload` with plain node
 * through bin/streamai.js (as `npx streamai` runs, no TypeScript loader). First the CLI's start
 * cost: `streamai upload` of a missing file, best of 5, beside a bare `node -e 0`. Uploads a 1 GiB file (BENCH_UPLOAD_BYTES) with
 * curl and with streamai, by multipart (`POST /upload`) and by tus; a 256 MiB file with streamai
 * (is memory flat in file size?); the same through a script that loads only the upload service
 * (the CLI also loads every other part's modules); each BENCH_UPLOAD_RUNS times (default 2),
 * interleaved, best time and highest peak RSS kept. Then a 1 GiB `streamai upload` SIGKILLed
 * once the server holds half of it, and the same command again (resume). Peak RSS of each
 * client is `/usr/bin/time -f %M`; "transfer" is the task's time from `uploading` to
 * `completed` (after validation; the sha256 is computed while sending, one pass over the
 * file). End to end is process start to server-confirmed. The ingest server runs in this process.
 * Every contender asks for no processing (curl: auto_process=false; streamai: --no-process):
 * a processing pipeline started by one upload would otherwise run beside the next measurement.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { IngestServer } from '../src/ingest/index.js';
import { ffmpegPath } from '../src/media/index.js';
import { openDatabase, stationMigrations, UploadTaskRepository } from '../src/store/index.js';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIG = Number(process.env.BENCH_UPLOAD_BYTES ?? 1024 ** 3);
const SMALL = 256 * 1024 ** 2;
const RUNS = Number(process.env.BENCH_UPLOAD_RUNS ?? 2);
const MiB = 1024 ** 2;

async function makeMediaFile(file: string, size: number): Promise<string> {
  await run(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
    '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'matroska', file,
  ]); // prettier-ignore
  const handle = await open(file, 'a');
  const block = Buffer.alloc(8 * MiB);
  const { size: have } = await handle.stat();
  for (let left = size - have; left > 0; left -= block.length) {
    randomFillSync(block);
    await handle.write(block, 0, Math.min(left, block.length));
  }
  await handle.close();
  return file;
}

async function build(dir: string): Promise<string> {
  await copyFile(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type errors elsewhere in a shared work tree must not stop the benchmark: tsc still emits.
  await run(process.execPath, [
    tsc,
    '-p',
    path.join(root, 'tsconfig.build.json'),
    '--outDir',
    path.join(dir, 'dist'),
  ]).catch(() => undefined);
  // Through the launcher, as `npx streamai` runs: it turns on Node's compile cache (Node ≥ 22.1).
  await mkdir(path.join(dir, 'bin'));
  await copyFile(path.join(root, 'bin', 'streamai.js'), path.join(dir, 'bin', 'streamai.js'));
  return path.join(dir, 'bin', 'streamai.js');
}

/**
 * The CLI's fixed start cost: `streamai upload` of a missing file (its whole module graph loads,
 * the database opens, then FILE_NOT_FOUND), best of `runs`, wall seconds; beside it a bare
 * `node -e 0` as the reference. Every upload pays it before its first byte.
 */
async function startCost(
  launcher: string,
  env: Record<string, string>,
  cwd: string,
  runs = 5,
): Promise<{ seconds: number; bareNode: number }> {
  const best = async (args: string[], expect: RegExp): Promise<number> => {
    let seconds = Infinity;
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      const { stderr } = await run(process.execPath, args, {
        cwd,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env },
      }).catch((error: { stderr?: string }) => ({ stderr: error.stderr ?? String(error) }));
      seconds = Math.min(seconds, (performance.now() - started) / 1000);
      if (!expect.test(stderr)) throw new Error(`${args.join(' ')}: unexpected output ${stderr}`);
    }
    return seconds;
  };
  const missing = path.join(cwd, 'no-such-recording.mkv');
  return {
    seconds: await best([launcher, 'upload', missing], /FILE_NOT_FOUND/),
    bareNode: await best(['-e', '0'], /^$/),
  };
}

interface Measured {
  seconds: number;
  peakRssMiB: number;
  stdout: string;
}

/** Runs a command under /usr/bin/time; `onSpawn` may kill it. */
async function measure(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd: string,
  onSpawn?: (kill: () => void, stdout: () => string) => void,
): Promise<Measured & { code: number | null }> {
  const timeFile = path.join(cwd, `time-${Date.now()}.txt`);
  const started = performance.now();
  // A run that gets killed is not wrapped: the kill must reach the client itself.
  const [file, argv] = onSpawn
    ? [command, args]
    : ['/usr/bin/time', ['-f', '%M', '-o', timeFile, command, ...args]];
  const child = spawn(file, argv, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  onSpawn?.(
    () => child.kill('SIGKILL'),
    () => stdout,
  );
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  const kib = Number((await readFile(timeFile, 'utf8').catch(() => '0')).trim().split('\n').pop());
  if (code !== 0 && !onSpawn) throw new Error(`${command} failed (${code}): ${stderr}`);
  return { seconds, peakRssMiB: kib / 1024, stdout, code };
}

/** Seconds from entering `uploading` to `completed`, from the task's history. */
function transferSeconds(dataDir: string, taskId: string): number {
  const db = openDatabase(path.join(dataDir, 'streamai.db'), stationMigrations);
  try {
    const events = new UploadTaskRepository(db).events(taskId);
    const start = events.find((e) => e.state === 'uploading');
    const end = events.find((e) => e.state === 'completed');
    if (!start || !end) throw new Error(`task ${taskId} did not complete`);
    return (Date.parse(end.at) - Date.parse(start.at)) / 1000;
  } finally {
    db.close();
  }
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

/** The upload service alone (no CLI, so none of the other parts' modules): enqueue, wait, close. */
function serviceOnlyScript(dist: string): string {
  return `
import path from 'node:path';
const { loadConfig } = await import(${JSON.stringify(path.join(dist, 'config', 'index.js'))});
const { openDatabase, stationMigrations } = await import(${JSON.stringify(path.join(dist, 'store', 'index.js'))});
const { UploadService, uploadSettingsFromConfig } = await import(${JSON.stringify(path.join(dist, 'uploads', 'index.js'))});
const config = loadConfig({ envFile: false });
const db = openDatabase(path.join(config.station.dataDir, 'streamai.db'), stationMigrations);
const service = new UploadService({ db, settings: uploadSettingsFromConfig(config) });
service.start();
const task = await service.waitFor((await service.enqueue(process.argv[2], { autoProcess: false })).id);
await service.close();
db.close();
console.log(task.id);
if (task.state !== 'completed') process.exit(1);
`;
}

interface Best {
  name: string;
  bytes: number;
  seconds: number;
  transfer: number | undefined;
  peakRssMiB: number;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'streamai-bench-upload-'));
  try {
    console.log(`work folder ${work}; compiling…`);
    await mkdir(path.join(work, 'build'));
    const main = await build(path.join(work, 'build'));
    const serviceOnly = path.join(work, 'service-only.mjs');
    await writeFile(serviceOnly, serviceOnlyScript(path.join(work, 'build', 'dist')));
    const big = await makeMediaFile(path.join(work, 'big.mkv'), BIG);
    const small = await makeMediaFile(path.join(work, 'small.mkv'), SMALL);
    const bigSha = await sha256Of(big);
    const server = new IngestServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: path.join(work, 'ingest'),
      apiKeys: [],
      maxUploadBytes: 50 * 1024 ** 3,
      diskReserveBytes: 0,
      tusExpirationMs: 3600_000,
    });
    const url = await server.start();
    const clean = async (): Promise<void> => {
      // Each upload leaves a copy on the server: drop it so the disk holds one at a time.
      for (const entry of await readdir(path.join(work, 'ingest'))) {
        if (entry.startsWith('task_') || entry.startsWith('curl_')) {
          await rm(path.join(work, 'ingest', entry), { recursive: true, force: true });
        }
      }
    };
    let n = 0;
    const env = (dataDir: string, extra: Record<string, string> = {}): Record<string, string> => ({
      STREAMAI_DATA_DIR: dataDir,
      STREAMAI_LOG_FILE: path.join(work, 'streamai.log'),
      VULTR_API_URL: url,
      ...extra,
    });
    const streamai = async (
      entry: string[],
      file: string,
      protocol: string,
      extra: Record<string, string> = {},
    ): Promise<Omit<Best, 'name' | 'bytes'>> => {
      const dataDir = path.join(work, `station-${n++}`);
      const m = await measure(
        process.execPath,
        [...entry, file],
        env(dataDir, { VULTR_UPLOAD_PROTOCOL: protocol, ...extra }),
        work,
      );
      const transfer = transferSeconds(dataDir, m.stdout.trim().split('\n')[0] ?? '');
      await clean();
      return { seconds: m.seconds, transfer, peakRssMiB: m.peakRssMiB };
    };
    const curlMultipart = async (): Promise<Omit<Best, 'name' | 'bytes'>> => {
      const m = await measure(
        'curl',
        ['-sS', '-f', '-o', '/dev/null', '-F', `task_id=curl_m${n++}`, '-F', 'auto_process=false', '-F', `sha256=${bigSha}`, '-F', `file=@${big};type=video/mp4`, `${url}/upload`],
        {},
        work,
      ); // prettier-ignore
      await clean();
      return { seconds: m.seconds, transfer: undefined, peakRssMiB: m.peakRssMiB };
    };
    const curlTus = async (): Promise<Omit<Best, 'name' | 'bytes'>> => {
      const meta = `filename ${Buffer.from('big.mkv').toString('base64')},task_id ${Buffer.from(`curl_t${n++}`).toString('base64')},sha256 ${Buffer.from(bigSha).toString('base64')},auto_process ${Buffer.from('false').toString('base64')}`;
      const started = performance.now();
      const { stdout: headers } = await run('curl', ['-sS', '-f', '-D', '-', '-o', '/dev/null', '-X', 'POST', '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Length: ${BIG}`, '-H', `Upload-Metadata: ${meta}`, `${url}/files/`]); // prettier-ignore
      const location = /^location:\s*(\S+)/im.exec(headers)?.[1] ?? '';
      const m = await measure(
        'curl',
        ['-sS', '-f', '-o', '/dev/null', '-X', 'PATCH', '-H', 'Tus-Resumable: 1.0.0', '-H', 'Upload-Offset: 0', '-H', 'Content-Type: application/offset+octet-stream', '-T', big, new URL(location, url + '/').toString()],
        {},
        work,
      ); // prettier-ignore
      await clean();
      return { seconds: (performance.now() - started) / 1000, transfer: undefined, peakRssMiB: m.peakRssMiB };
    };

    const start = await startCost(main, env(path.join(work, 'station-start')), work);

    const cases: Array<{ name: string; bytes: number; go: () => Promise<Omit<Best, 'name' | 'bytes'>> }> = [
      { name: 'curl multipart (`-F`)', bytes: BIG, go: curlMultipart },
      {
        name: '`streamai upload`, multipart',
        bytes: BIG,
        go: () => streamai([main, 'upload', '--no-process'], big, 'multipart'),
      },
      { name: 'curl tus (POST, one `PATCH -T`)', bytes: BIG, go: curlTus },
      {
        name: '`streamai upload`, tus (64 MiB PATCHes, the default)',
        bytes: BIG,
        go: () => streamai([main, 'upload', '--no-process'], big, 'tus'),
      },
      {
        name: '`streamai upload`, tus, 128 MiB PATCHes',
        bytes: BIG,
        go: () =>
          streamai([main, 'upload', '--no-process'], big, 'tus', { VULTR_UPLOAD_CHUNK_SIZE: '128MiB' }),
      },
      {
        name: '`streamai upload`, tus, 256 MiB',
        bytes: SMALL,
        go: () => streamai([main, 'upload', '--no-process'], small, 'tus'),
      },
      { name: 'upload service alone, tus', bytes: BIG, go: () => streamai([serviceOnly], big, 'tus') },
      {
        name: 'upload service alone, tus, 256 MiB',
        bytes: SMALL,
        go: () => streamai([serviceOnly], small, 'tus'),
      },
    ];
    const best = new Map<string, Best>();
    for (let r = 1; r <= RUNS; r++) {
      // Interleaved, so a busy moment on the shared machine does not hit one contender only.
      for (const c of cases) {
        const got = await c.go();
        console.log(
          `run ${r}: ${c.name}: ${got.seconds.toFixed(2)} s, transfer ${got.transfer?.toFixed(2) ?? '—'} s, peak RSS ${got.peakRssMiB.toFixed(1)} MiB`,
        );
        const prev = best.get(c.name);
        best.set(c.name, {
          name: c.name,
          bytes: c.bytes,
          seconds: Math.min(prev?.seconds ?? Infinity, got.seconds),
          transfer:
            got.transfer === undefined ? undefined : Math.min(prev?.transfer ?? Infinity, got.transfer),
          peakRssMiB: Math.max(prev?.peakRssMiB ?? 0, got.peakRssMiB),
        });
      }
    }
    console.log(`\nbest of ${RUNS} (peak RSS: the highest of the runs)\n`);
    console.log('| upload | end-to-end MB/s | transfer MB/s | client peak RSS MiB |');
    console.log('|---|---:|---:|---:|');
    for (const b of best.values()) {
      console.log(`| ${b.name} | ${mbps(b.bytes, b.seconds).toFixed(1)} | ${b.transfer === undefined ? '—' : mbps(b.bytes, b.transfer).toFixed(1)} | ${b.peakRssMiB.toFixed(1)} |`);
    } // prettier-ignore
    const ratio = (ours: string, theirs: string): string => {
      const a = best.get(ours);
      const b = best.get(theirs);
      if (!a?.transfer || !b) return '?';
      return `${((b.seconds / a.transfer) * 100).toFixed(0)}% (transfer) / ${((b.seconds / a.seconds) * 100).toFixed(0)}% (end to end)`;
    };
    console.log(
      `\nthroughput vs curl: multipart ${ratio('`streamai upload`, multipart', 'curl multipart (`-F`)')}, tus ${ratio('`streamai upload`, tus (64 MiB PATCHes, the default)', 'curl tus (POST, one `PATCH -T`)')}`,
    );
    // Issue 11's target: end to end (process start → server-confirmed) ≥ 0.9× curl to the same
    // server, for each protocol, with the client's peak RSS under 120 MB.
    for (const [ours, theirs] of [
      ['`streamai upload`, multipart', 'curl multipart (`-F`)'],
      ['`streamai upload`, tus (64 MiB PATCHes, the default)', 'curl tus (POST, one `PATCH -T`)'],
    ] as const) {
      const a = best.get(ours);
      const b = best.get(theirs);
      if (!a || !b) continue;
      const x = b.seconds / a.seconds;
      const rssMB = (a.peakRssMiB * MiB) / 1e6;
      console.log(
        `target ${ours}: ${x.toFixed(2)}× curl end to end (≥ 0.90: ${x >= 0.9 ? 'met' : 'NOT met'}), peak RSS ${rssMB.toFixed(0)} MB (< 120: ${rssMB < 120 ? 'met' : 'NOT met'})`,
      );
    }

    console.log(
      `CLI start (Node ${process.versions.node}): \`streamai upload\` of a missing file ${start.seconds.toFixed(3)} s wall, ` +
        `best of 5 (a bare \`node -e 0\`: ${start.bareNode.toFixed(3)} s, ${(start.seconds / start.bareNode).toFixed(1)}×)`,
    );

    // Resume: SIGKILL once the server holds half the file, then the same command again.
    const dataDir = path.join(work, 'station-resume');
    const killed = await measure(
      process.execPath,
      [main, 'upload', '--no-process', big],
      env(dataDir),
      work,
      (kill, out) => {
        const timer = setInterval(() => {
          const taskId = out().trim().split('\n')[0];
          if (!taskId) return;
          void fetch(`${url}/status/${taskId}`)
            .then((r) => r.json() as Promise<{ upload?: { received_bytes?: number } }>)
            .then((s) => {
              if ((s.upload?.received_bytes ?? 0) >= BIG / 2) {
                clearInterval(timer);
                kill();
              }
            })
            .catch(() => undefined);
        }, 50);
      },
    );
    const taskId = killed.stdout.trim().split('\n')[0] ?? '';
    const heldAtKill = await fetch(`${url}/status/${taskId}`)
      .then((r) => r.json() as Promise<{ upload?: { received_bytes?: number } }>)
      .then((s) => s.upload?.received_bytes ?? 0);
    const resumed = await measure(
      process.execPath,
      [main, 'upload', '--no-process', big],
      env(dataDir),
      work,
    );
    const db = openDatabase(path.join(dataDir, 'streamai.db'), stationMigrations);
    const history = new UploadTaskRepository(db).events(taskId);
    db.close();
    const resumedFromOffset = history.some((e) => /resuming/.test(e.message ?? ''));
    console.log(
      `\nresume: killed at ${(heldAtKill / MiB).toFixed(0)} MiB held by the server, after ${killed.seconds.toFixed(1)} s; ` +
        `the same command again took ${resumed.seconds.toFixed(1)} s to ${history.at(-1)?.state} ` +
        `(${resumedFromOffset ? 'resumed the same task from the server offset' : 'DID NOT RESUME'}), ` +
        `peak RSS ${resumed.peakRssMiB.toFixed(1)} MiB; uninterrupted best: ${best.get('`streamai upload`, tus (64 MiB PATCHes, the default)')?.seconds.toFixed(1)} s`,
    );
    await server.close();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

/**
 * `npm run bench:upload`: the upload client against curl, to the same ingest server, in one run.
 *
 * Compiles the sources with tsc into a private folder and runs `streamai upload` with plain node
 * (as `npx streamai` runs, no TypeScript loader). Uploads a 1 GiB file (BENCH_UPLOAD_BYTES) with
 * curl and with streamai, by multipart (`POST /upload`) and by tus, then a 256 MiB file with
 * streamai (is memory flat in file size?), then a 1 GiB streamai tus upload SIGKILLed halfway and
 * started again (resume overhead). Peak RSS of each client is `/usr/bin/time -f %M`.
 * The ingest server runs in this process, from the same sources.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, copyFile, symlink } from 'node:fs/promises';
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
  return path.join(dir, 'dist', 'cli', 'main.js');
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
  const { createReadStream } = await import('node:fs');
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds;

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'streamai-bench-upload-'));
  try {
    console.log(`work folder ${work}; compiling…`);
    await mkdir(path.join(work, 'build'));
    const main = await build(path.join(work, 'build'));
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
    const results: string[] = [];
    const row = (name: string, bytes: number, m: Measured, transfer?: number): void => {
      const line =
        `| ${name} | ${mbps(bytes, m.seconds).toFixed(1)} | ` +
        `${transfer === undefined ? '—' : mbps(bytes, transfer).toFixed(1)} | ${m.peakRssMiB.toFixed(1)} |`;
      results.push(line);
      console.log(line);
    };
    const clean = async (): Promise<void> => {
      // Each upload leaves a copy on the server: drop it so the disk holds one at a time.
      const { readdir } = await import('node:fs/promises');
      for (const entry of await readdir(path.join(work, 'ingest'))) {
        if (entry.startsWith('task_') || entry.startsWith('curl_')) {
          await rm(path.join(work, 'ingest', entry), { recursive: true, force: true });
        }
      }
    };
    let n = 0;
    const streamai = async (file: string, protocol: string): Promise<{ m: Measured; transfer: number }> => {
      const dataDir = path.join(work, `station-${n++}`);
      const m = await measure(
        process.execPath,
        [main, 'upload', file],
        { STREAMAI_DATA_DIR: dataDir, STREAMAI_LOG_FILE: path.join(work, 'streamai.log'), VULTR_API_URL: url, VULTR_UPLOAD_PROTOCOL: protocol },
        work,
      ); // prettier-ignore
      const taskId = m.stdout.trim().split('\n')[0] ?? '';
      const transfer = transferSeconds(dataDir, taskId);
      await clean();
      return { m, transfer };
    };

    console.log('| upload (1 GiB unless noted) | end-to-end MB/s | transfer MB/s | client peak RSS MiB |');
    const curlMultipart = await measure(
      'curl',
      ['-sS', '-f', '-o', '/dev/null', '-F', `task_id=curl_m${n}`, '-F', 'auto_process=false', '-F', `sha256=${bigSha}`, '-F', `file=@${big};type=video/mp4`, `${url}/upload`],
      {},
      work,
    ); // prettier-ignore
    row('curl multipart `-F`', BIG, curlMultipart);
    await clean();
    const ours = await streamai(big, 'multipart');
    row('streamai upload, multipart', BIG, ours.m, ours.transfer);

    const meta = `filename ${Buffer.from('big.mkv').toString('base64')},task_id ${Buffer.from('curl_t1').toString('base64')},sha256 ${Buffer.from(bigSha).toString('base64')}`;
    const tusStart = performance.now();
    const { stdout: headers } = await run('curl', ['-sS', '-f', '-D', '-', '-o', '/dev/null', '-X', 'POST', '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Length: ${BIG}`, '-H', `Upload-Metadata: ${meta}`, `${url}/files/`]); // prettier-ignore
    const location = /^location:\s*(\S+)/im.exec(headers)?.[1] ?? '';
    const curlTus = await measure(
      'curl',
      ['-sS', '-f', '-o', '/dev/null', '-X', 'PATCH', '-H', 'Tus-Resumable: 1.0.0', '-H', 'Upload-Offset: 0', '-H', 'Content-Type: application/offset+octet-stream', '-T', big, new URL(location, url + '/').toString()],
      {},
      work,
    ); // prettier-ignore
    curlTus.seconds = (performance.now() - tusStart) / 1000;
    row('curl tus (POST, one `PATCH -T`)', BIG, curlTus);
    await clean();
    const tus = await streamai(big, 'tus');
    row('streamai upload, tus (8 MiB PATCHes)', BIG, tus.m, tus.transfer);
    const tusSmall = await streamai(small, 'tus');
    row('streamai upload, tus, **256 MiB**', SMALL, tusSmall.m, tusSmall.transfer);

    // Resume: SIGKILL once the server holds half the file, then the same command again.
    const dataDir = path.join(work, 'station-resume');
    const env = {
      STREAMAI_DATA_DIR: dataDir,
      STREAMAI_LOG_FILE: path.join(work, 'streamai.log'),
      VULTR_API_URL: url,
    };
    const killed = await measure(process.execPath, [main, 'upload', big], env, work, (kill, out) => {
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
    });
    const resumed = await measure(process.execPath, [main, 'upload', big], env, work);
    const taskId = resumed.stdout.trim().split('\n')[0] ?? '';
    const db = openDatabase(path.join(dataDir, 'streamai.db'), stationMigrations);
    const history = new UploadTaskRepository(db).events(taskId);
    db.close();
    const resumedFrom = history.map((e) => e.message ?? '').find((m) => m.includes('resuming'));
    const overhead = killed.seconds + resumed.seconds - tus.m.seconds;
    const line =
      `killed after ${killed.seconds.toFixed(1)} s + resumed run ${resumed.seconds.toFixed(1)} s = ` +
      `${(killed.seconds + resumed.seconds).toFixed(1)} s vs ${tus.m.seconds.toFixed(1)} s uninterrupted: ` +
      `resume overhead ${overhead.toFixed(1)} s; resumed run peak RSS ${resumed.peakRssMiB.toFixed(1)} MiB; ` +
      `${resumedFrom ? 'resumed from the server offset' : 'DID NOT RESUME'}`;
    results.push(line);
    console.log(line);
    const ratioMultipart = mbps(BIG, ours.transfer) / mbps(BIG, curlMultipart.seconds);
    const ratioTus = mbps(BIG, tus.transfer) / mbps(BIG, curlTus.seconds);
    console.log(
      `transfer vs curl: multipart ${(ratioMultipart * 100).toFixed(0)}%, tus ${(ratioTus * 100).toFixed(0)}%`,
    );
    await server.close();
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

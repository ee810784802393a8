/**
 * `npm run bench:station`: requests/s and p99 latency of GET /api/status and
 * GET /api/vultr/uploads, idle and while a 1 GiB recording uploads at full speed to the
 * station's embedded ingest server on the same machine. Target: p99 under 50 ms during the upload.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { StationServer } from '../src/api/index.js';
import { loadConfig } from '../src/config/index.js';
import { silentLogger } from '../src/logging/index.js';
import { ffmpegPath } from '../src/media/index.js';

const SIZE_GIB = Number(process.env.BENCH_SIZE_GIB ?? '1');
const SECONDS = Number(process.env.BENCH_SECONDS ?? '10');

async function load(url: string): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const result = await autocannon({ url, connections: 10, duration: SECONDS });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-station-'));
  try {
    // Raw video in Matroska: a real media file (ffprobe sees a video stream) of any size, made fast.
    const frameBytes = 1920 * 1080 * 1.5;
    const frames = Math.ceil((SIZE_GIB * 1024 ** 3) / frameBytes);
    const media = path.join(dir, 'big.mkv');
    process.stdout.write(`making a ${SIZE_GIB} GiB recording…\n`);
    await promisify(execFile)(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=1920x1080:rate=30',
      '-frames:v', String(frames), '-c:v', 'rawvideo', '-pix_fmt', 'yuv420p', media,
    ]); // prettier-ignore
    const size = (await stat(media)).size;

    const config = loadConfig({
      env: {
        RECORDINGS_PATH: path.join(dir, 'recordings'),
        STREAMAI_DATA_DIR: path.join(dir, 'data'),
        INGEST_DATA_DIR: path.join(dir, 'ingest'),
        STREAMAI_LOG_FILE: path.join(dir, 'streamai.log'),
        INGEST_DISK_RESERVE_BYTES: '1MiB',
        LOG_LEVEL: 'warn',
      },
      envFile: false,
    });
    const server = new StationServer({ config, logger: silentLogger(), port: 0 });
    const url = await server.start();
    try {
      const rows: string[] = [];
      const measure = async (label: string) => {
        for (const route of ['/api/status', '/api/vultr/uploads?limit=10']) {
          const r = await load(`${url}${route}`);
          rows.push(`| ${label} | \`GET ${route}\` | ${r.rps} | ${r.p50} | ${r.p99} | ${r.errors} |`);
          process.stdout.write(`${rows.at(-1)}\n`);
        }
      };
      await measure('idle');

      // The upload service is the station's own; enqueue straight into it (no recording needed).
      const uploads = server.station.uploadService;
      const started = performance.now();
      const task = await uploads.enqueue(media, { sessionName: 'bench', autoProcess: false });
      await new Promise<void>((resolve) => {
        const onProgress = (p: { taskId: string; bytesSent: number }) => {
          if (p.taskId === task.id && p.bytesSent > 16 * 1024 * 1024) {
            uploads.off('progress', onProgress);
            resolve();
          }
        };
        uploads.on('progress', onProgress);
      });
      await measure(`during a ${SIZE_GIB} GiB upload`);
      const done = await uploads.waitFor(task.id);
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write(
        `upload ${done.state}: ${(size / 1024 ** 2).toFixed(0)} MiB in ${seconds.toFixed(1)} s ` +
          `(${(size / 1024 ** 2 / seconds).toFixed(0)} MiB/s, ${done.protocol})\n`,
      );
      process.stdout.write(
        `\n| load | route | req/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|\n${rows.join('\n')}\n`,
      );
    } finally {
      await server.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

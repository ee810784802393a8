// `npm run bench:scale`: what the scale-out pieces that exist today deliver on this machine.
// 1. Processing jobs per minute with 1, 2 and 3 `streamai worker` processes (BullMQ on a local
//    Redis), the same 8 clips each time, and the p99 of GET /status while they run.
// 2. Uploads per minute of 4 simulated stations (separate `streamai upload` processes) through
//    nginx (the balancer of deploy/nginx/streamai-ingest.conf) to one ingest node.
// Two ingest nodes need the ingest state on PostgreSQL (DATABASE_URL), which is not built yet:
// this benchmark says so instead of measuring it.
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { ffmpeg, makeClip } from '../test/helpers/make-media.js';
import { startIngestProcess } from '../test/helpers/ingest-process.js';
import { startBalancer } from '../test/helpers/nginx.js';
import { startRedis } from '../test/helpers/redis.js';
import { startWorker } from '../test/helpers/worker-process.js';
import { postUpload } from '../test/ingest/ingest-support.js';

const JOBS = 8;
const STATIONS = 4;
const root = path.resolve(import.meta.dirname, '..');

/** Cleanups in reverse order, like node:test's t.after. */
const cleanups: Array<() => unknown> = [];
const ctx = { after: (fn: () => unknown) => void cleanups.push(fn) };

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

async function statusOf(url: string, id: string): Promise<{ ms: number; state: string | undefined }> {
  const started = performance.now();
  const res = await request(`${url}/status/${id}`);
  const body = (await res.body.json()) as { processing?: { state?: string } };
  return { ms: performance.now() - started, state: body.processing?.state };
}

const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-scale-'));
try {
  const redis = await startRedis(ctx);
  const env = { QUEUE_URL: redis.url, QUEUE_LOCK_SECONDS: '30', LOG_LEVEL: 'warn' };
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 20, width: 640, height: 360 });

  const rows: string[] = [];
  for (const workers of [1, 2, 3]) {
    const dataDir = path.join(dir, `data-${workers}`);
    const { url } = await startIngestProcess(ctx, {
      script: 'src/cli/main.ts',
      args: ['ingest', '--port', '0', '--data-dir', dataDir],
      env,
    });
    for (let i = 0; i < workers; i++) await startWorker(ctx, { ...env, LOG_LEVEL: 'info' }, dataDir);
    const ids = Array.from({ length: JOBS }, (_, i) => `w${workers}-${i}`);
    const started = performance.now();
    for (const id of ids) {
      await postUpload(url, { task_id: id, auto_process: 'true' }, { name: 'clip.mp4', path: clip });
    }
    const latencies: number[] = [];
    for (;;) {
      const answers = await Promise.all(ids.map((id) => statusOf(url, id)));
      latencies.push(...answers.map((a) => a.ms));
      if (answers.every((a) => a.state === 'done' || a.state === 'failed')) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const minutes = (performance.now() - started) / 60_000;
    const final = await Promise.all(ids.map((id) => statusOf(url, id)));
    const done = final.filter((a) => a.state === 'done').length;
    rows.push(
      `| ${workers} | ${done}/${JOBS} done | ${(minutes * 60).toFixed(1)} s | ${(done / minutes).toFixed(1)} | ${p99(latencies).toFixed(1)} ms |`,
    );
    // Stop this round's processes before the next one (they would compete for the cores).
    while (cleanups.length > 1) await cleanups.pop()?.();
  }

  // Uploads through the balancer: one node (in-process queue, nothing processed: auto_process=false).
  const dataDir = path.join(dir, 'data-uploads');
  const node = await startIngestProcess(ctx, {
    script: 'src/cli/main.ts',
    args: ['ingest', '--port', '0', '--data-dir', dataDir],
    env: { LOG_LEVEL: 'warn' },
  });
  const balancer = await startBalancer(ctx, [new URL(node.url).host]);
  // A real video (the client checks it with ffprobe), big without costing an encode: raw frames.
  const recording = path.join(dir, 'station-recording.mkv');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=25',
    '-t',
    '15',
    '-c:v',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    recording,
  ]);
  const files = Array.from({ length: STATIONS }, () => recording);
  const bytes = (await stat(recording)).size;
  const uploadStarted = performance.now();
  const codes = await Promise.all(
    files.map(
      (file, i) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(
            process.execPath,
            [
              '--import',
              import.meta.resolve('tsx'),
              path.join(root, 'src/cli/main.ts'),
              'upload',
              file,
              '--no-process',
            ],
            {
              cwd: dir,
              env: {
                PATH: process.env.PATH ?? '',
                HOME: process.env.HOME ?? dir,
                VULTR_API_URL: balancer.url,
                STREAMAI_DATA_DIR: path.join(dir, `station-data-${i}`),
                LOG_LEVEL: 'warn',
              },
              stdio: 'ignore',
            },
          );
          child.on('close', resolve);
        }),
    ),
  );
  const uploadMinutes = (performance.now() - uploadStarted) / 60_000;
  const ok = codes.filter((c) => c === 0).length;

  process.stdout.write(
    [
      `# bench:scale — ${new Date().toISOString()}, ${cpus().length} cores, load ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
      '',
      `Processing: ${JOBS} jobs of a 20 s 640x360 clip, BullMQ on Redis, N streamai worker processes (concurrency 1).`,
      '',
      '| workers | jobs | all done after | jobs/min | p99 GET /status |',
      '|---|---|---|---|---|',
      ...rows,
      '',
      `Uploads: ${STATIONS} streamai upload processes at once, ${(bytes / 1024 / 1024).toFixed(0)} MiB each, through nginx to 1 ingest node:`,
      `${ok}/${STATIONS} completed in ${(uploadMinutes * 60).toFixed(1)} s = ${(ok / uploadMinutes).toFixed(1)} uploads/min, ` +
        `${((ok * bytes) / 1024 / 1024 / (uploadMinutes * 60)).toFixed(0)} MiB/s in all.`,
      '',
      '2 ingest nodes: not measured — several nodes need the ingest state on PostgreSQL (DATABASE_URL), not built yet.',
      '',
    ].join('\n'),
  );
} finally {
  while (cleanups.length > 0) await cleanups.pop()?.();
  await rm(dir, { recursive: true, force: true });
}

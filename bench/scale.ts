// `npm run bench:scale`: the deployment of docs/DEPLOY.md on this machine (PostgreSQL for state
// and queue, Swift as the bucket, nginx in front, real `streamai ingest` / `worker` processes).
// 1. Uploads per minute of STATIONS simulated stations (separate `streamai upload` processes, tus)
//    through nginx to 1 ingest node, then to 2 nodes; p99 of GET /status polled meanwhile.
// 2. Processing jobs per minute with 1, 2 and 3 `streamai worker` processes (2 nodes), the same
//    JOBS clips each round, and the p99 of GET /status while they run.
// Figures are ratios against the first row of each table, measured in the same invocation.
import { spawn } from 'node:child_process';
import { cpus, loadavg, tmpdir } from 'node:os';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { makeClip, makeRawVideo } from '../test/helpers/make-media.js';
import { CLUSTER_API_KEY, startCluster } from '../test/helpers/cluster.js';
import { postUpload } from '../test/ingest/ingest-support.js';

const JOBS = Number(process.env.BENCH_SCALE_JOBS ?? 8);
const STATIONS = Number(process.env.BENCH_SCALE_STATIONS ?? 6);
const root = path.resolve(import.meta.dirname, '..');
const auth = { 'x-api-key': CLUSTER_API_KEY };

/** One round's cleanups, in reverse order (like node:test's t.after). */
function scope(): { after: (fn: () => unknown) => void; close: () => Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    after: (fn) => void fns.push(fn),
    close: async () => {
      while (fns.length > 0) await fns.pop()?.();
    },
  };
}

/** CPU seconds a process (and its reaped children) used so far, from /proc (Linux; 0 when gone). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces, so split after its closing paren).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14–17 of stat, 12–15 after the name; clock ticks of 1/100 s.
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / 100;
}

/** The whole machine's busy and total CPU time so far (/proc/stat's first line), in seconds. */
async function machineCpu(): Promise<{ busy: number; total: number }> {
  const first = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const ticks = first.split(/\s+/).slice(1).map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

/** Where the CPU went during a round: Swift (the bucket), the ingest nodes, and the whole machine. */
async function cpuSnapshot(swiftPid: number, nodePids: Array<number | undefined>) {
  return {
    swift: await cpuSeconds(swiftPid),
    nodes: await Promise.all(nodePids.map((pid) => cpuSeconds(pid))),
    machine: await machineCpu(),
  };
}

function cpuLine(
  before: Awaited<ReturnType<typeof cpuSnapshot>>,
  after: typeof before,
  seconds: number,
): string {
  const nodes = after.nodes.map((n, i) => (n - (before.nodes[i] ?? 0)).toFixed(1)).join(' + ');
  const busy = after.machine.busy - before.machine.busy;
  const share = (100 * busy) / (after.machine.total - before.machine.total);
  return `Swift ${(after.swift - before.swift).toFixed(1)} s, node(s) ${nodes} s, machine ${busy.toFixed(1)} of ${(seconds * cpus().length).toFixed(1)} core-s busy (${share.toFixed(0)}%)`;
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? NaN;
}

async function statusOf(url: string, id: string): Promise<{ ms: number; state: string | undefined }> {
  const started = performance.now();
  const res = await request(`${url}/status/${id}`, { headers: auth });
  const body = (await res.body.json()) as { processing?: { state?: string } };
  return { ms: performance.now() - started, state: body.processing?.state };
}

type Answer = Awaited<ReturnType<typeof statusOf>>;

/**
 * Polls /status of `ids` through `url` (every 100 ms) until `until` — a promise settling, or a
 * test on the answers holding; returns every latency measured.
 */
async function pollStatus(
  url: string,
  ids: string[],
  until: Promise<unknown> | ((answers: Answer[]) => boolean),
): Promise<number[]> {
  const latencies: number[] = [];
  let settled = false;
  if (until instanceof Promise) void until.finally(() => (settled = true));
  for (;;) {
    const answers = await Promise.all(ids.map((id) => statusOf(url, id)));
    latencies.push(...answers.map((a) => a.ms));
    if (settled || (typeof until === 'function' && until(answers))) return latencies;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stationUpload(file: string, apiUrl: string, dataDir: string): Promise<number | null> {
  return new Promise((resolve) => {
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
        cwd: path.dirname(dataDir),
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? dataDir,
          VULTR_API_URL: apiUrl,
          VULTR_API_KEY: CLUSTER_API_KEY,
          VULTR_UPLOAD_PROTOCOL: 'tus',
          STREAMAI_DATA_DIR: dataDir,
          LOG_LEVEL: 'warn',
        },
        stdio: 'ignore',
      },
    );
    child.on('close', resolve);
  });
}

const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-scale-'));
const lines: string[] = [];
try {
  // A real video (the client checks it with ffprobe), big without costing an encode: raw frames.
  const recording = await makeRawVideo(path.join(dir, 'station-recording.mkv'), 6, '640x360');
  const bytes = (await stat(recording)).size;
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 20, width: 640, height: 360 });

  /** Multipart uploads of the clip, one after the other (what a station sends). */
  const uploadClips = async (url: string, ids: string[], process: boolean): Promise<void> => {
    for (const id of ids) {
      const res = await postUpload(
        url,
        { task_id: id, auto_process: String(process) },
        { name: 'clip.mp4', path: clip },
        auth,
      );
      if (res.status !== 200) throw new Error(`upload ${id}: ${res.status} ${JSON.stringify(res.json)}`);
    }
  };

  const uploadRows: string[] = [];
  const cpuRows: string[] = [];
  let uploadBase: number | undefined;
  for (const nodes of [1, 2]) {
    const round = scope();
    const roundDir = path.join(dir, `uploads-${nodes}`);
    await mkdir(roundDir, { recursive: true });
    const cluster = await startCluster(round, { nodes, workers: 0, dir: roundDir });
    // Tasks whose status is polled while the stations upload (what a page or a station asks).
    const watched = Array.from({ length: 4 }, (_, i) => `watch-${nodes}-${i}`);
    await uploadClips(cluster.balancer.url, watched, false);
    const nodePids = cluster.nodes.map((n) => n.child.pid);
    const cpuBefore = await cpuSnapshot(cluster.swift.pid, nodePids);
    const started = performance.now();
    const uploads = Promise.all(
      Array.from({ length: STATIONS }, async (_, i) => {
        const stationDir = path.join(roundDir, `station-${i}`);
        await mkdir(stationDir, { recursive: true });
        return stationUpload(recording, cluster.balancer.url, path.join(stationDir, 'data'));
      }),
    );
    const latencies = await pollStatus(cluster.balancer.url, watched, uploads);
    const codes = await uploads;
    const seconds = (performance.now() - started) / 1000;
    cpuRows.push(
      `${nodes} node(s): ${cpuLine(cpuBefore, await cpuSnapshot(cluster.swift.pid, nodePids), seconds)}`,
    );
    const ok = codes.filter((c) => c === 0).length;
    const perMin = (ok / seconds) * 60;
    uploadBase ??= perMin;
    uploadRows.push(
      `| ${nodes} | ${ok}/${STATIONS} | ${seconds.toFixed(1)} s | ${perMin.toFixed(1)} | ${(perMin / uploadBase).toFixed(2)}× | ${((ok * bytes) / 1024 / 1024 / seconds).toFixed(0)} MiB/s | ${p99(latencies).toFixed(1)} ms |`,
    );
    await round.close();
  }

  const jobRows: string[] = [];
  let jobBase: number | undefined;
  for (const workers of [1, 2, 3]) {
    const round = scope();
    const roundDir = path.join(dir, `jobs-${workers}`);
    await mkdir(roundDir, { recursive: true });
    const cluster = await startCluster(round, {
      nodes: 2,
      workers,
      dir: roundDir,
      env: { QUEUE_LOCK_SECONDS: '30' },
    });
    const ids = Array.from({ length: JOBS }, (_, i) => `w${workers}-${i}`);
    const cpuBefore = await cpuSnapshot(
      cluster.swift.pid,
      cluster.workers.map((w) => w.child.pid),
    );
    const started = performance.now();
    await uploadClips(cluster.balancer.url, ids, true);
    const latencies = await pollStatus(cluster.balancer.url, ids, (answers) =>
      answers.every((a) => a.state === 'done' || a.state === 'failed'),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuAfter = await cpuSnapshot(
      cluster.swift.pid,
      cluster.workers.map((w) => w.child.pid),
    );
    cpuRows.push(
      `${workers} worker(s): ${cpuLine(cpuBefore, cpuAfter, seconds).replace('node(s)', 'worker(s)')}`,
    );
    const final = await Promise.all(ids.map((id) => statusOf(cluster.balancer.url, id)));
    const done = final.filter((a) => a.state === 'done').length;
    const perMin = (done / seconds) * 60;
    jobBase ??= perMin;
    jobRows.push(
      `| ${workers} | ${done}/${JOBS} done | ${seconds.toFixed(1)} s | ${perMin.toFixed(1)} | ${(perMin / jobBase).toFixed(2)}× | ${p99(latencies).toFixed(1)} ms |`,
    );
    await round.close();
  }

  lines.push(
    `# bench:scale — ${new Date().toISOString()}, ${cpus().length} cores, load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
    '',
    `Uploads: ${STATIONS} streamai upload processes at once (tus, ${(bytes / 1024 / 1024).toFixed(0)} MiB each), through nginx, INGEST_STORAGE=s3 on Swift, DATABASE_URL on PostgreSQL:`,
    '',
    '| ingest nodes | completed | all done after | uploads/min | vs 1 node | throughput | p99 GET /status |',
    '|---|---|---|---|---|---|---|',
    ...uploadRows,
    '',
    `Processing: ${JOBS} jobs of a 20 s 640x360 clip through 2 nodes, BullMQ on PostgreSQL, N streamai worker processes (concurrency 1):`,
    '',
    '| workers | jobs | all done after | jobs/min | vs 1 worker | p99 GET /status |',
    '|---|---|---|---|---|---|',
    ...jobRows,
    '',
    'CPU time during each round (workers: ffmpeg runs in their children, counted once reaped):',
    '',
    ...cpuRows.map((r) => `- ${r}`),
    '',
  );
  process.stdout.write(lines.join('\n'));
} finally {
  await rm(dir, { recursive: true, force: true });
}

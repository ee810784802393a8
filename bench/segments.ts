/**
 * `npm run bench:segments`: Stop → "the server has the whole recording, verified", for a
 * recording uploaded in parts while it records, against the same recording uploaded as one file
 * after Stop, through the same rate limit, in one run.
 *
 * The real ffmpeg recorder (testsrc) records BENCH_SEGMENTS_SECONDS (default 120) in 10-second
 * parts (BENCH_SEGMENT_SECONDS) with auto-upload to an ingest server started in this process on
 * loopback, with VULTR_UPLOAD_MAX_RATE = 1.5× the recording's bitrate (measured first with a
 * 6-second recording). "In parts" is Stop → the task completed (the last part sent, the server
 * joined and checked the parts). "One file" is the same recording's local finalisation time
 * after Stop (join, probe, hash, thumbnail: what a one-file station also waits for before it
 * sends) plus the upload of the joined file at the same rate, to a fresh server task.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/index.js';
import { IngestServer } from '../src/ingest/index.js';
import { FfmpegRecorder } from '../src/recorder/index.js';
import { RecordingManager } from '../src/sessions/index.js';
import { openDatabase, stationMigrations, type Db } from '../src/store/index.js';
import { UploadService, uploadSettingsFromConfig } from '../src/uploads/index.js';

const SECONDS = Number(process.env.BENCH_SEGMENTS_SECONDS ?? 120);
const SEGMENT = Number(process.env.BENCH_SEGMENT_SECONDS ?? 10);

function service(db: Db, dataDir: string, apiUrl: string, rate: number | undefined): UploadService {
  const config = loadConfig({ env: { STREAMAI_DATA_DIR: dataDir }, envFile: false });
  const uploads = new UploadService({
    db,
    settings: { ...uploadSettingsFromConfig(config, apiUrl), maxRateBytesPerSecond: rate },
  });
  uploads.start();
  return uploads;
}

/** Bytes of the task's closed parts already on the server (station database). */
function closedPartsSent(db: Db, taskId: string): number {
  const row = db
    .prepare(
      `SELECT COALESCE(SUM(file_size), 0) AS n FROM upload_task_parts WHERE task_id = ? AND state = 'uploaded'`,
    )
    .get(taskId) as { n: number };
  return row.n;
}

/** Records `seconds` with the ffmpeg recorder; returns the stopped recording and when Stop was pressed. */
async function record(
  dir: string,
  seconds: number,
  segmentSeconds: number,
  uploads: UploadService | undefined,
  db: Db,
) {
  const manager = new RecordingManager({
    recorder: new FfmpegRecorder({ source: 'testsrc', segmentSeconds }),
    db,
    recordingsPath: path.join(dir, 'recordings'),
    uploads,
    autoUpload: uploads !== undefined,
  });
  await manager.start();
  await manager.startRecording(`bench ${segmentSeconds}`);
  await sleep(seconds * 1000);
  const id = manager.getRecording(manager.status().recordingId ?? '')?.uploadTaskId;
  // What was still to send when Stop was pressed (the part open then is not counted yet).
  const atStop = id && uploads ? uploads.get(id)?.parts : undefined;
  const task = id && uploads ? uploads.get(id) : undefined;
  const closedBytes = id ? closedPartsSent(db, id) : 0;
  const openSentAtStop = Math.max(0, (task?.bytesSent ?? 0) - closedBytes);
  const stopAt = performance.now();
  const stopped = await manager.stopRecording();
  const finalizedAt = performance.now();
  await manager.close();
  return { stopped, stopAt, atStop, openSentAtStop, finalizeSeconds: (finalizedAt - stopAt) / 1000 };
}

/** The server's join: from its last part's completion to the recording's (both from /status). */
async function joinSeconds(url: string, taskId: string, parts: number): Promise<number> {
  const completedAt = async (id: string): Promise<number> => {
    const body = (await (await fetch(`${url}/status/${encodeURIComponent(id)}`)).json()) as {
      upload?: { completed_at?: string | null } | null;
    };
    return Date.parse(body.upload?.completed_at ?? '');
  };
  let lastPart = 0;
  for (let i = 0; i < parts; i++) lastPart = Math.max(lastPart, await completedAt(`${taskId}.part-${i}`));
  return ((await completedAt(taskId)) - lastPart) / 1000;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-bench-segments-'));
  const ingest = new IngestServer({
    host: '127.0.0.1',
    port: 0,
    apiKeys: [],
    maxUploadBytes: 50 * 1024 ** 3,
    diskReserveBytes: 0,
    tusExpirationMs: 3600_000,
    dataDir: path.join(dir, 'ingest'),
  });
  const url = await ingest.start();
  try {
    // The recording's bitrate, from a short recording of the same source.
    const probeDb = openDatabase(path.join(dir, 'probe', 'streamai.db'), stationMigrations);
    const calibration = await record(path.join(dir, 'probe'), 6, 0, undefined, probeDb);
    probeDb.close();
    const bitrate = (calibration.stopped.size ?? 0) / (calibration.stopped.duration ?? 1);
    const rate = Math.round(bitrate * 1.5);

    // In parts, while recording.
    const db = openDatabase(path.join(dir, 'parts', 'data', 'streamai.db'), stationMigrations);
    const uploads = service(db, path.join(dir, 'parts', 'data'), url, rate);
    const run = await record(path.join(dir, 'parts'), SECONDS, SEGMENT, uploads, db);
    const taskId = run.stopped.uploadTaskId ?? '';
    const task = await uploads.waitFor(taskId);
    const partsSeconds = (performance.now() - run.stopAt) / 1000;
    if (task.state !== 'completed')
      throw new Error(`the parts task ended ${task.state}: ${JSON.stringify(task.lastError)}`);
    const join = await joinSeconds(url, taskId, task.parts?.total ?? 0);
    await uploads.close();
    db.close();

    // The same recording as one file after Stop, at the same rate.
    const oneDb = openDatabase(path.join(dir, 'one', 'streamai.db'), stationMigrations);
    const one = service(oneDb, path.join(dir, 'one'), url, rate);
    const file = run.stopped.filePath ?? '';
    const size = (await stat(file)).size;
    const sendStart = performance.now();
    const whole = await one.enqueue(file, { knownComplete: true, autoProcess: false });
    const sent = await one.waitFor(whole.id);
    const sendSeconds = (performance.now() - sendStart) / 1000;
    if (sent.state !== 'completed') throw new Error(`the one-file task ended ${sent.state}`);
    await one.close();
    oneDb.close();
    const oneSeconds = run.finalizeSeconds + sendSeconds;

    const mb = (n: number): string => `${(n / 1e6).toFixed(2)} MB`;
    const kb = (n: number): string => `${(n / 1e3).toFixed(1)} kB`;
    console.log(
      `recording: ${SECONDS} s of testsrc in ${SEGMENT}-s parts (${task.parts?.total ?? '?'} parts), ${mb(size)}`,
    );
    console.log(`bitrate ${kb(bitrate)}/s (6-s calibration), VULTR_UPLOAD_MAX_RATE ${kb(rate)}/s (1.5×)`);
    // The parts are MPEG-TS (append-only, so the open one can be sent); the joined file Matroska.
    console.log(`parts on the wire: ${mb(task.size)} for the ${mb(size)} joined recording`);
    const w = run.atStop;
    console.log(
      `at Stop: ${w?.uploaded ?? 0} parts on the server, ${w?.waiting ?? 0} closed and waiting (${kb(w?.waitingBytes ?? 0)}), plus the part still open (${kb(run.openSentAtStop)} of it sent while it was recorded)`,
    );
    console.log(
      `local finalisation after Stop (join, probe, hash, thumbnail): ${run.finalizeSeconds.toFixed(2)} s`,
    );
    console.log(
      `Stop → verified, in parts while recording: ${partsSeconds.toFixed(2)} s (of which the server's join ${join.toFixed(2)} s: ${(partsSeconds - join).toFixed(2)} s plus the join)`,
    );
    console.log(
      `Stop → verified, one file after Stop:      ${oneSeconds.toFixed(2)} s (upload ${sendSeconds.toFixed(2)} s)`,
    );
    console.log(`ratio (parts / one file): ${(partsSeconds / oneSeconds).toFixed(3)}×`);
  } finally {
    await ingest.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

import { execFile } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { promisify } from 'node:util';
import { AppError } from '../errors/index.js';
import { ffmpegPath, ffprobePath } from '../media/index.js';

const run = promisify(execFile);
/** Audio-only recordings have no frame rate: their durations must agree within this. */
const AUDIO_TOLERANCE_SECONDS = 0.05;

interface Probe {
  duration: number;
  /** Seconds per video frame, or undefined without video. */
  frameSeconds: number | undefined;
}

function rate(value: string | undefined): number | undefined {
  const [num, den] = (value ?? '').split('/').map(Number);
  return num && den ? num / den : undefined;
}

async function probe(file: string): Promise<Probe> {
  const { stdout } = await run(ffprobePath, [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type,avg_frame_rate,r_frame_rate',
    '-of',
    'json',
    file,
  ]);
  const info = JSON.parse(stdout) as {
    format?: { duration?: string };
    streams?: Array<{ codec_type?: string; avg_frame_rate?: string; r_frame_rate?: string }>;
  };
  const duration = Number(info.format?.duration);
  if (!Number.isFinite(duration)) throw new AppError('CORRUPT_MEDIA', `ffprobe found no duration in ${file}`);
  const video = info.streams?.find((s) => s.codec_type === 'video');
  const fps = rate(video?.avg_frame_rate) ?? rate(video?.r_frame_rate);
  return { duration, frameSeconds: fps ? 1 / fps : undefined };
}

/** A part probed as it arrived: used by its join if the file is still the one probed. */
interface EarlyProbe {
  size: number;
  mtimeMs: number;
  probe: Promise<Probe>;
}

const early = new Map<string, EarlyProbe>();
/** Bounds what recordings never joined (abandoned) leave here: oldest dropped first. */
const EARLY_MAX = 4096;

/**
 * Starts probing a stored part now, while the recording goes on, so that its join after Stop
 * does not wait for it: one ffprobe run is mostly its own start (~90 ms here), and a 3-hour
 * recording has 180 parts (docs/BENCHMARKS.md, "The join of a long recording"). Only a guess
 * kept in memory: the join probes again a part whose size or mtime changed, whose early probe
 * failed, or that this process did not see arrive (a restart). Resolves when the probe ended
 * (never rejects); callers need not wait.
 */
export function probeAhead(file: string): Promise<void> {
  if (early.has(file)) return Promise.resolve();
  return stat(file).then(
    async (info) => {
      if (early.has(file)) return;
      if (early.size >= EARLY_MAX) early.delete(early.keys().next().value as string);
      const probing = probe(file);
      early.set(file, { size: info.size, mtimeMs: info.mtimeMs, probe: probing });
      await probing.catch(() => undefined); // the join probes again
    },
    () => undefined,
  );
}

async function probeForJoin(file: string): Promise<Probe> {
  const ahead = early.get(file);
  early.delete(file);
  if (ahead) {
    const info = await stat(file);
    if (info.size === ahead.size && info.mtimeMs === ahead.mtimeMs) {
      const done = await ahead.probe.catch(() => undefined);
      if (done) return done;
    }
  }
  return probe(file);
}

/**
 * Every part's probe (those probed as they arrived are ready), the rest a few ffprobe runs at
 * a time: 180 parts probed one after the other cost 17 s after Stop here, two at a time 7 s.
 */
async function probeAll(parts: readonly string[]): Promise<Probe[]> {
  const probes: Probe[] = new Array<Probe>(parts.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < parts.length) {
      const index = next++;
      probes[index] = await probeForJoin(parts[index] as string);
    }
  };
  const width = Math.min(parts.length, Math.max(2, availableParallelism()));
  await Promise.all(Array.from({ length: width }, worker));
  return probes;
}

/** The concat demuxer's list: every path quoted, a quote inside written as '\''. */
function concatList(files: readonly string[]): string {
  return `ffconcat version 1.0\n${files.map((f) => `file '${f.replaceAll("'", "'\\''")}'`).join('\n')}\n`;
}

/** What a join measured: the joined duration, the sum of the parts', and the tolerance used. */
export interface JoinResult {
  durationSeconds: number;
  partsSeconds: number;
  toleranceSeconds: number;
}

/**
 * Joins the parts losslessly (ffmpeg's concat demuxer, every stream copied) into `outPath`,
 * then checks the joined duration against the sum of the parts: they must agree within one
 * video frame (50 ms for audio only), else CORRUPT_MEDIA — a join that lost or doubled a piece.
 */
export async function joinParts(
  parts: readonly string[],
  outPath: string,
  listPath: string,
): Promise<JoinResult> {
  const probes = await probeAll(parts);
  const partsSeconds = probes.reduce((sum, p) => sum + p.duration, 0);
  await writeFile(listPath, concatList(parts));
  try {
    await run(ffmpegPath, [
      '-hide_banner',
      '-v',
      'error',
      '-f',
      'concat',
      '-safe',
      '0',
      '-i',
      listPath,
      '-map',
      '0',
      '-c',
      'copy',
      '-y',
      outPath,
    ]);
  } catch (error) {
    throw new AppError('FFMPEG_FAILED', 'ffmpeg could not join the parts of the recording', { cause: error });
  }
  const joined = await probe(outPath);
  const toleranceSeconds = (probes[0]?.frameSeconds ?? AUDIO_TOLERANCE_SECONDS) + 0.001;
  if (Math.abs(joined.duration - partsSeconds) > toleranceSeconds) {
    throw new AppError(
      'CORRUPT_MEDIA',
      `the joined recording lasts ${joined.duration.toFixed(3)} s, its parts ${partsSeconds.toFixed(3)} s`,
    );
  }
  return { durationSeconds: joined.duration, partsSeconds, toleranceSeconds };
}

import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { parse as parseDotenv } from 'dotenv';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);

/** The oldest ffmpeg the system one may be: Debian 12's 5.1 (filters such as `apad=pad_dur`). */
export const MIN_SYSTEM_VERSION = { major: 5, minor: 1 } as const;

/** Where a binary in use came from. */
export type MediaToolSource = 'FFMPEG_PATH' | 'FFPROBE_PATH' | 'PATH' | 'packaged';

/** One binary in use: its path, the version it reports and where it was found. */
export interface MediaTool {
  path: string;
  /** e.g. "5.1.9-0+deb12u1", or null when the binary did not say. */
  version: string | null;
  source: MediaToolSource;
}

/** The ffmpeg and ffprobe in use, and (when the packaged ones are used) why not the system's. */
export interface MediaTools {
  ffmpeg: MediaTool;
  ffprobe: MediaTool;
  /** Why the system binaries were not used; absent when they were. */
  fallbackReason?: string;
}

/** The binaries shipped inside npm packages (a 2018 ffmpeg 4.1 build): the fallback. */
export function packagedTools(): { ffmpeg: string; ffprobe: string } {
  return {
    ffmpeg: (require('@ffmpeg-installer/ffmpeg') as { path: string }).path,
    ffprobe: (require('@ffprobe-installer/ffprobe') as { path: string }).path,
  };
}

/**
 * Chooses the ffmpeg/ffprobe pair: the system's when both are found (FFMPEG_PATH / FFPROBE_PATH,
 * else on PATH), run, and report at least 5.1; otherwise the packaged pair. The two always come
 * from the same side, so the prober and the encoder agree on what they can read. A set
 * FFMPEG_PATH that does not work is not an error: the packaged binaries still process uploads,
 * and `fallbackReason` (shown by `/health` and `streamai status`; it names no path) says why
 * they are in use.
 */
export function resolveMediaTools(env: Record<string, string | undefined> = startupEnv()): MediaTools {
  const ffmpeg = systemCandidate('ffmpeg', env.FFMPEG_PATH, env.PATH);
  const ffprobe = systemCandidate('ffprobe', env.FFPROBE_PATH, env.PATH);
  const problem = ffmpeg.problem ?? ffprobe.problem;
  if (problem === undefined && ffmpeg.tool && ffprobe.tool)
    return { ffmpeg: ffmpeg.tool, ffprobe: ffprobe.tool };
  const packaged = packagedTools();
  return {
    ffmpeg: { path: packaged.ffmpeg, version: versionOf(packaged.ffmpeg), source: 'packaged' },
    ffprobe: { path: packaged.ffprobe, version: versionOf(packaged.ffprobe), source: 'packaged' },
    fallbackReason: problem ?? 'no system ffmpeg',
  };
}

/** "ffmpeg 5.1.9-0+deb12u1 (system, /usr/bin/ffmpeg)" — one line for status output. */
export function describeMediaTools(tools: MediaTools = mediaTools): string {
  const where = tools.ffmpeg.source === 'packaged' ? 'packaged' : `system, ${tools.ffmpeg.path}`;
  const why = tools.fallbackReason ? `; ${tools.fallbackReason}` : '';
  return `ffmpeg ${tools.ffmpeg.version ?? 'unknown version'} (${where}${why})`;
}

/** Whether an ffmpeg version string ("5.1.9-0+deb12u1", "n6.0", "4.1") is at least 5.1. */
export function isRecentEnough(version: string | null): boolean {
  const match = /^n?(\d+)\.(\d+)/.exec(version ?? '');
  if (!match) return false;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return (
    major > MIN_SYSTEM_VERSION.major ||
    (major === MIN_SYSTEM_VERSION.major && minor >= MIN_SYSTEM_VERSION.minor)
  );
}

function systemCandidate(
  name: 'ffmpeg' | 'ffprobe',
  explicit: string | undefined,
  searchPath: string | undefined,
): { tool?: MediaTool; problem?: string } {
  const variable = name === 'ffmpeg' ? 'FFMPEG_PATH' : 'FFPROBE_PATH';
  const file = explicit?.trim() ? explicit.trim() : findOnPath(name, searchPath);
  if (!file) return { problem: `no ${name} on PATH` };
  const version = versionOf(file);
  const source: MediaToolSource = explicit?.trim() ? variable : 'PATH';
  if (version === null) return { problem: `the ${name} from ${source} does not run` };
  if (!isRecentEnough(version))
    return { problem: `the ${name} from ${source} is ${version}, older than 5.1` };
  return { tool: { path: file, version, source } };
}

function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The version an ffmpeg/ffprobe prints on its first line, or null when it does not run. Running
 * `-version` costs ~90 ms a binary, at every start of every command (this module chooses the
 * pair when it loads), so a version read is remembered per binary — its real path, size, mtime
 * and inode — in a small per-user cache file: read again only when the binary changes.
 */
function versionOf(file: string): string | null {
  const key = binaryKey(file);
  if (key === undefined) return runVersion(file);
  const cache = versionCache();
  const known = cache[key];
  if (known !== undefined) return known;
  const version = runVersion(file);
  if (version !== null) writeVersionCache({ ...cache, [key]: version });
  return version;
}

function runVersion(file: string): string | null {
  try {
    const out = execFileSync(file, ['-hide_banner', '-version'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return /version (\S+)/.exec(out)?.[1] ?? null;
  } catch {
    return null;
  }
}

/** What identifies one build of a binary on disk; undefined when it cannot be read. */
function binaryKey(file: string): string | undefined {
  try {
    const real = realpathSync(file);
    const info = statSync(real);
    return `${real}|${info.size}|${info.mtimeMs}|${info.ino}`;
  } catch {
    return undefined;
  }
}

/** `<tmp>/streamai-<uid>/media-versions.json`, in a folder only this user owns (else none). */
function versionCacheFile(): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = path.join(tmpdir(), `streamai-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const info = lstatSync(dir);
    // Another user's folder (or a link planted there) is not trusted with what we run.
    if (!info.isDirectory() || (process.getuid && info.uid !== uid)) return undefined;
    return path.join(dir, 'media-versions.json');
  } catch {
    return undefined;
  }
}

/** The cache as this process last read or wrote it (read from disk once, not per binary). */
let versionMemo: Record<string, string> | undefined;

function versionCache(): Record<string, string> {
  if (versionMemo) return versionMemo;
  const file = versionCacheFile();
  try {
    const parsed: unknown = file ? JSON.parse(readFileSync(file, 'utf8')) : {};
    versionMemo = parsed && typeof parsed === 'object' ? (parsed as Record<string, string>) : {};
  } catch {
    versionMemo = {};
  }
  return versionMemo;
}

/** Writes the cache (the last 32 binaries) through a temporary file; a failure only costs time. */
function writeVersionCache(entries: Record<string, string>): void {
  const file = versionCacheFile();
  const kept = Object.fromEntries(Object.entries(entries).slice(-32));
  versionMemo = kept;
  if (!file) return;
  try {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(kept), { mode: 0o600 });
    renameSync(temp, file);
  } catch {
    // Not cached: the next start runs -version again.
  }
}

/**
 * FFMPEG_PATH, FFPROBE_PATH and PATH as loadConfig would see them (environment over ./.env). Read
 * here rather than through loadConfig because the binaries are needed by modules that load before
 * any configuration (and a bad unrelated setting must not stop ffmpeg from being found).
 */
function startupEnv(): Record<string, string | undefined> {
  const envFile = path.resolve('.env');
  const fromFile = existsSync(envFile) ? parseDotenv(readFileSync(envFile)) : {};
  // eslint-disable-next-line no-restricted-properties -- see above: needed before any config is loaded
  const env = process.env;
  return {
    FFMPEG_PATH: env.FFMPEG_PATH ?? fromFile.FFMPEG_PATH,
    FFPROBE_PATH: env.FFPROBE_PATH ?? fromFile.FFPROBE_PATH,
    PATH: env.PATH,
  };
}

/** The pair in use by this process, chosen once when this module is first loaded. */
export const mediaTools: MediaTools = resolveMediaTools();

/** Paths of the ffmpeg and ffprobe every part runs (recorder, upload checks, processing). */
export const ffmpegPath: string = mediaTools.ffmpeg.path;
export const ffprobePath: string = mediaTools.ffprobe.path;

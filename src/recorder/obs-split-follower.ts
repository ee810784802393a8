import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '../logging/index.js';
import { ffprobePath } from '../media/index.js';
import { isFile } from './obs-helpers.js';
import type { ObsSegmentation } from './obs-split-settings.js';
import type { RecordingSegmentEvent } from './recorder.js';
import { segmentFileName, segmentFolderFor } from './segments.js';

const run = promisify(execFile);

/** How often the record folder is listed while OBS records. */
const POLL_MS = 250;

/**
 * What a follower keeps on disk (ObsRecorderOptions.stateFile) so that a station restarted while
 * OBS records goes on collecting the same recording's files: OBS does not say which file it
 * writes (obs-websocket 5.1 has no such request), so this is the only record of it.
 */
interface FollowState {
  outputPath: string;
  startedAt: string;
  segmentation: ObsSegmentation;
  current: string;
  seen: string[];
  parts: string[];
}

/** The names in OBS's record folder right after OBS opened its first file: not this recording's later files. */
export async function listFolder(dir: string): Promise<Set<string>> {
  try {
    return new Set(await readdir(dir));
  } catch {
    return new Set();
  }
}

/**
 * Follows OBS's own file splitting for one recording. OBS (29 with automatic splitting, or ≥ 30.2
 * on SplitRecordFile) closes the file it writes and opens the next one in the same folder; its
 * muxer writes the old file's trailer and closes it before it opens the new one, so a new file in
 * the folder is what makes the previous one "closed". A closed file is moved (a rename, same
 * folder tree) to `.segments/<recording>/partNNNNN.mkv` — the layout the ffmpeg recorder uses,
 * so the sessions part joins, uploads and recovers OBS parts the same way — and reported.
 *
 * The recording's `outputPath` is OBS's first file: once that file has moved into the parts
 * folder the name is free for the joined recording. OBS 29 keeps reporting that first name (even
 * in its STOPPED event), which is why the parts are found here and not from OBS's answers.
 */
export class ObsSplitFollower {
  readonly folder: string;
  private readonly dir: string;
  /** The shape of OBS's names for this recording's files (see nameShape). */
  private readonly shape: RegExp;
  private readonly parts: string[] = [];
  /** Names that are not a new file of this recording: there before it began, or seen already. */
  private readonly seen: Set<string>;
  /** The file OBS writes now (absolute). */
  private current: string;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private finished = false;
  private onSegment: ((segment: RecordingSegmentEvent) => void) | undefined;

  constructor(
    readonly outputPath: string,
    readonly startedAt: string,
    readonly segmentation: ObsSegmentation,
    before: ReadonlySet<string>,
    private readonly logger: Logger,
    private readonly stateFile?: string,
    /** Files that appear in the folder but are not OBS's (a finished recording being joined there). */
    private readonly foreign: (file: string) => boolean = () => false,
  ) {
    this.dir = path.dirname(outputPath);
    this.folder = segmentFolderFor(outputPath);
    this.shape = nameShape(path.basename(outputPath));
    this.seen = new Set(before);
    this.seen.add(path.basename(outputPath));
    this.current = outputPath;
  }

  /** The follower a previous station run left in `stateFile` (undefined: none, or unreadable). */
  static async resume(
    stateFile: string | undefined,
    logger: Logger,
    foreign?: (file: string) => boolean,
  ): Promise<ObsSplitFollower | undefined> {
    if (!stateFile) return undefined;
    let state: FollowState;
    try {
      state = JSON.parse(await readFile(stateFile, 'utf8')) as FollowState;
    } catch {
      return undefined;
    }
    if (typeof state.outputPath !== 'string' || !Array.isArray(state.parts)) return undefined;
    const follower = new ObsSplitFollower(
      state.outputPath,
      state.startedAt,
      state.segmentation,
      new Set(state.seen),
      logger,
      stateFile,
      foreign,
    );
    follower.current = state.current;
    follower.parts.push(...state.parts);
    logger.info({ outputPath: state.outputPath, parts: state.parts.length }, 'following OBS parts again');
    return follower;
  }

  /** Writes the state (temporary file, then rename: never half a file). */
  async save(): Promise<void> {
    if (!this.stateFile) return;
    const state: FollowState = {
      outputPath: this.outputPath,
      startedAt: this.startedAt,
      segmentation: this.segmentation,
      current: this.current,
      seen: [...this.seen],
      parts: this.parts,
    };
    const temp = `${this.stateFile}.tmp`;
    try {
      await mkdir(path.dirname(this.stateFile), { recursive: true });
      await writeFile(temp, JSON.stringify(state));
      await rename(temp, this.stateFile);
    } catch (error) {
      this.logger.warn({ err: error, file: this.stateFile }, 'could not save the OBS parts state');
    }
  }

  /**
   * Reports each closed part from now on. A resumed follower first reports again the parts an
   * earlier station run collected, so the one who uploads them counts every part (the server
   * stores a part sent twice once).
   */
  watch(onSegment: (segment: RecordingSegmentEvent) => void): void {
    this.onSegment = onSegment;
    for (const [index, part] of this.parts.entries())
      onSegment({ outputPath: this.outputPath, index, path: part });
    this.timer = setInterval(() => void this.scan(), POLL_MS);
    this.timer.unref();
  }

  /** OBS said which file it writes now (RecordFileChanged): look at once rather than at the next tick. */
  fileChanged(): void {
    void this.scan();
  }

  /** Stops looking (the station goes away while OBS records on): nothing is moved. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * After OBS stopped (or was lost): moves the files closed last, then the last one, and returns
   * every part in order. A last file OBS opened while stopping with no frames in it (OBS 29 may
   * split once more on the final packets) is set aside in the parts folder, not reported. After
   * a crash (`interrupted`) the last file is kept as it is: the join decides whether it is readable.
   */
  async finish(interrupted = false): Promise<string[]> {
    this.stop();
    await this.scan();
    await this.scanning;
    if (!this.finished) {
      this.finished = true;
      if (!interrupted && this.parts.length > 0 && !(await hasMedia(this.current))) {
        await this.setAside(this.current);
      } else {
        await this.close(this.current);
      }
      if (this.stateFile) await rm(this.stateFile, { force: true });
    }
    return [...this.parts];
  }

  closed(): string[] {
    return [...this.parts];
  }

  private scan(): Promise<void> {
    this.scanning = this.scanning
      .then(() => this.read())
      .catch((error: unknown) => {
        this.logger.warn({ err: error, dir: this.dir }, 'could not follow the OBS record folder');
      });
    return this.scanning;
  }

  private async read(): Promise<void> {
    if (this.finished) return;
    const fresh: Array<{ file: string; mtimeMs: number }> = [];
    for (const name of await readdir(this.dir)) {
      // Hidden names are the joins' temporary files; OBS never names a file so.
      if (this.seen.has(name) || name.startsWith('.') || !this.shape.test(name)) continue;
      const file = path.join(this.dir, name);
      if (this.foreign(file)) continue;
      try {
        const info = await stat(file);
        if (info.isFile()) fresh.push({ file, mtimeMs: info.mtimeMs });
      } catch {
        // gone again: not ours
      }
    }
    // Oldest first: a closed file's last write is before the next file was opened. (Names do
    // not sort: OBS appends " (2)" when a name is taken within the same second.)
    fresh.sort((a, b) => a.mtimeMs - b.mtimeMs || a.file.localeCompare(b.file));
    for (const { file } of fresh) {
      this.seen.add(path.basename(file));
      await this.close(this.current);
      this.current = file;
      await this.save();
    }
  }

  /** Moves a closed file into the parts folder as the next part and reports it. */
  private async close(file: string): Promise<void> {
    const index = this.parts.length;
    const part = path.join(this.folder, segmentFileName(index));
    await mkdir(this.folder, { recursive: true });
    try {
      await rename(file, part);
    } catch (error) {
      // Moved already by a station run that stopped before it saved its state: it is this part.
      // Otherwise the file is gone (moved by someone else): no part for it.
      if (!(await isFile(part))) {
        this.logger.warn({ err: error, file }, 'an OBS recording part could not be moved');
        return;
      }
    }
    this.parts.push(part);
    this.logger.debug({ part, index, from: file }, 'OBS recording part closed');
    this.onSegment?.({ outputPath: this.outputPath, index, path: part });
  }

  private async setAside(file: string): Promise<void> {
    await mkdir(this.folder, { recursive: true });
    await rename(file, path.join(this.folder, `empty-${path.basename(file)}`)).catch(() => undefined);
    this.logger.info({ file }, 'OBS opened a last file without frames: set aside');
  }
}

/**
 * OBS names each next file from the same format as the first (by default the time,
 * "2026-12-01 18-10-04.mkv"), so its later names have the first one's shape: the same text with
 * other digits, maybe a " (2)" OBS adds when the name is taken. A file of another shape that
 * appears in the folder (one the user copies there) is not taken for OBS's next part — it would
 * be moved into the parts and removed with them.
 */
export function nameShape(firstName: string): RegExp {
  const ext = path.extname(firstName);
  const base = path.basename(firstName, ext).replace(/[ _]\(\d+\)$/, '');
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escape(base).replace(/\d/g, '\\d')}(?:[ _]\\(\\d+\\))?${escape(ext)}$`, 'i');
}

/** True when ffprobe reads a positive duration (a file with at least some frames in it). */
async function hasMedia(file: string): Promise<boolean> {
  try {
    const { stdout } = await run(
      ffprobePath,
      ['-v', 'error', '-show_entries', 'format=duration', '-of', 'csv=p=0', file],
      { timeout: 30_000 },
    );
    return Number.parseFloat(stdout.trim()) > 0;
  } catch {
    return false;
  }
}

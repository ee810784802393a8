import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/index.js';
import type { RecordingSegmentEvent } from './recorder.js';
import { SEGMENT_LIST_FILE, SEGMENT_PATTERN, segmentFolderFor } from './segments.js';

/** How often the segment list is read while recording. */
const POLL_MS = 250;

/**
 * Follows ffmpeg's segment muxer for one recording. The muxer appends a line to its CSV list
 * only after a part is closed (trailer written), so each line names a complete, playable file:
 * that line — not the next part being opened — is what makes a part "closed".
 */
export class SegmentWatcher {
  readonly folder: string;
  private readonly listFile: string;
  private readonly parts: string[] = [];
  private onSegment: ((segment: RecordingSegmentEvent) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly outputPath: string,
    private readonly logger: Logger,
  ) {
    this.folder = segmentFolderFor(outputPath);
    this.listFile = path.join(this.folder, SEGMENT_LIST_FILE);
  }

  async prepare(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
  }

  /**
   * The output arguments: Matroska parts of `seconds` each, timestamps from 0 in each part (each
   * plays on its own; the concat demuxer lines them up again). A re-encoding source gets a
   * keyframe at each boundary so parts are exactly `seconds` long; a copied stream is cut at its
   * own keyframes.
   */
  outputArgs(seconds: number, reencoded: boolean): string[] {
    return [
      ...(reencoded ? ['-force_key_frames', `expr:gte(t,n_forced*${seconds})`] : []),
      '-f',
      'segment',
      '-segment_time',
      String(seconds),
      '-segment_format',
      'matroska',
      '-reset_timestamps',
      '1',
      '-segment_list',
      this.listFile,
      '-segment_list_type',
      'csv',
      path.join(this.folder, SEGMENT_PATTERN),
    ];
  }

  /** Reports each closed part from now on (and those closed already). */
  watch(onSegment: (segment: RecordingSegmentEvent) => void): void {
    this.onSegment = onSegment;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  /** After ffmpeg exited: reports the parts closed last and returns every closed part, in order. */
  async finish(): Promise<string[]> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.poll();
    return this.closed();
  }

  closed(): string[] {
    return [...this.parts];
  }

  private poll(): Promise<void> {
    this.reading = this.reading.then(() => this.read());
    return this.reading;
  }

  private async read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.listFile, 'utf8');
    } catch {
      return; // no part closed yet
    }
    // Only complete lines: the muxer may be writing the next one.
    const lines = text
      .split('\n')
      .slice(0, -1)
      .filter((l) => l.trim() !== '');
    for (const line of lines.slice(this.parts.length)) {
      const name = line.split(',')[0] ?? '';
      const part = path.join(this.folder, path.basename(name));
      const index = this.parts.length;
      this.parts.push(part);
      this.logger.debug({ part, index }, 'recording part closed');
      this.onSegment?.({ outputPath: this.outputPath, index, path: part });
    }
  }
}

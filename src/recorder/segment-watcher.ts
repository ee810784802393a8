import { access, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logging/index.js';
import type { RecordingSegmentEvent } from './recorder.js';
import {
  SEGMENT_LIST_FILE,
  segmentFileName,
  segmentFolderFor,
  segmentPattern,
  type SegmentFormat,
} from './segments.js';

/** How often the segment list is read while recording. */
const POLL_MS = 250;

/**
 * Follows ffmpeg's segment muxer for one recording. The muxer appends a line to its CSV list
 * only after a part is closed (trailer written), so each line names a complete, playable file:
 * that line — not the next part being opened — is what makes a part "closed".
 *
 * MPEG-TS parts are written append-only, so the part being written is worth announcing too
 * (`onOpen`): each poll, after the closed parts, the watcher looks for the file of the next index
 * (ffmpeg opens part N+1 in the same write that closes N; part 0 at start). Every MPEG-TS part is
 * announced open exactly once, before it is reported closed: one that opened and closed between
 * two polls (a stalled machine, a Stop just after a boundary) is announced just before its close.
 */
export class SegmentWatcher {
  readonly folder: string;
  private readonly listFile: string;
  private readonly parts: string[] = [];
  /** How many parts were announced open (indexes 0 … opened-1). */
  private opened = 0;
  /** ffmpeg has exited: no part opens any more (a file it left unclosed is not announced now). */
  private ended = false;
  private onSegment: ((segment: RecordingSegmentEvent) => void) | undefined;
  private onOpen: ((segment: RecordingSegmentEvent) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly outputPath: string,
    private readonly logger: Logger,
    readonly format: SegmentFormat,
  ) {
    this.folder = segmentFolderFor(outputPath);
    this.listFile = path.join(this.folder, SEGMENT_LIST_FILE);
  }

  async prepare(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
  }

  /**
   * The output arguments: parts of `seconds` each in this watcher's format, timestamps from 0 in
   * each part (each plays on its own; the concat demuxer lines them up again — an MPEG-TS part
   * starts at the muxer's 1.4 s delay, which the demuxer subtracts as each part's start time). A
   * re-encoding source gets a keyframe at each boundary so parts are exactly `seconds` long; a
   * copied stream is cut at its own keyframes.
   */
  outputArgs(seconds: number, reencoded: boolean): string[] {
    return [
      ...(reencoded ? ['-force_key_frames', `expr:gte(t,n_forced*${seconds})`] : []),
      '-f',
      'segment',
      '-segment_time',
      String(seconds),
      '-segment_format',
      this.format,
      // ffmpeg 5.1 keeps a part's bytes in its buffer until the part closes (the file stays
      // empty while it grows); flushing after each packet puts an MPEG-TS part on disk as it is
      // written — whole 188-byte TS packets — so it can be sent while it grows. One AAC frame
      // per PES (pes_payload_size=0, ~3 % larger parts): with several, a part's duration, read
      // from the last PES's timestamp, misses the rest of its frames (~20 ms on the last part),
      // and joins are checked against the parts' durations within a frame.
      ...(this.format === 'mpegts' ? ['-segment_format_options', 'flush_packets=1:pes_payload_size=0'] : []),
      '-reset_timestamps',
      '1',
      '-segment_list',
      this.listFile,
      '-segment_list_type',
      'csv',
      path.join(this.folder, segmentPattern(this.format)),
    ];
  }

  /**
   * Reports each closed part from now on (and those closed already), and for MPEG-TS each part
   * being written (`onOpen`, always before that part's `onSegment`).
   */
  watch(
    onSegment: (segment: RecordingSegmentEvent) => void,
    onOpen?: (segment: RecordingSegmentEvent) => void,
  ): void {
    this.onSegment = onSegment;
    this.onOpen = onOpen;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
    void this.poll();
  }

  /**
   * After ffmpeg exited: reports the parts closed last and returns every part, in order. An
   * MPEG-TS part announced open that ffmpeg never closed (it was killed or crashed) is kept as
   * the last part — append-only, it is readable up to its last whole packet — and reported
   * closed, so a recording cut off mid-part keeps those seconds (and its upload, already on
   * its way, completes); an empty one is not a part.
   */
  async finish(): Promise<string[]> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.ended = true;
    await this.poll();
    const cut = this.parts.length;
    if (this.appendOnly() && this.opened > cut) {
      const part = path.join(this.folder, segmentFileName(cut, this.format));
      const size = await stat(part).then(
        (info) => info.size,
        () => 0,
      );
      if (size > 0) {
        this.parts.push(part);
        this.logger.warn({ part, index: cut, bytes: size }, 'recording part cut off by ffmpeg’s exit, kept');
        this.onSegment?.({ outputPath: this.outputPath, index: cut, path: part });
      }
    }
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
    await this.readClosed();
    // After the closed parts: the one being written, if ffmpeg has opened it.
    const next = this.parts.length;
    if (!this.ended && this.appendOnly() && this.opened === next && (await this.exists(next))) {
      this.announceOpen(next);
    }
  }

  private appendOnly(): boolean {
    return this.format === 'mpegts' && this.onOpen !== undefined;
  }

  private async exists(index: number): Promise<boolean> {
    try {
      await access(path.join(this.folder, segmentFileName(index, this.format)));
      return true;
    } catch {
      return false;
    }
  }

  private announceOpen(index: number): void {
    this.opened = index + 1;
    const part = path.join(this.folder, segmentFileName(index, this.format));
    this.logger.debug({ part, index }, 'recording part opened');
    this.onOpen?.({ outputPath: this.outputPath, index, path: part });
  }

  private async readClosed(): Promise<void> {
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
      // Opened and closed since the last poll: still announced open first (once per part).
      if (this.appendOnly() && this.opened === index) this.announceOpen(index);
      this.parts.push(part);
      this.logger.debug({ part, index }, 'recording part closed');
      this.onSegment?.({ outputPath: this.outputPath, index, path: part });
    }
  }
}

import path from 'node:path';
import type { Logger } from '../logging/index.js';
import { listFolder, ObsSplitFollower } from './obs-split-follower.js';
import type { ObsSegmentation } from './obs-split-settings.js';
import type { RecordingSegmentEvent } from './recorder.js';

/** What the parts of an OBS recording need from the recorder. */
export interface PartsHost {
  logger: Logger;
  /** ObsRecorderOptions.stateFile */
  stateFile: string | undefined;
  emitSegment(segment: RecordingSegmentEvent): void;
  /** SplitRecordFile through the current connection (resolves without asking while reconnecting). */
  split(): Promise<void>;
  /**
   * A file in OBS's folder that is not OBS's: the joined file of an earlier recording (the
   * sessions part joins an OBS 29 recording in OBS's folder, maybe while the next one records).
   */
  foreign(file: string): boolean;
}

/**
 * The parts side of one segmented OBS recording: the follower that collects OBS's closed files,
 * and on obs-websocket ≥ 5.5 the timer that asks OBS for each cut.
 */
export class ObsParts {
  private splitTimer: NodeJS.Timeout | undefined;
  private collecting: Promise<string[]> | undefined;

  private constructor(
    private readonly follower: ObsSplitFollower,
    private readonly host: PartsHost,
  ) {}

  /** Right after OBS opened its first file (`outputPath`). */
  static async begin(
    host: PartsHost,
    recording: { outputPath: string; startedAt: string; segmentation: ObsSegmentation },
  ): Promise<ObsParts> {
    // Taken after OBS opened its first file, from the folder it writes: new files later are its cuts.
    const before = await listFolder(path.dirname(recording.outputPath));
    const follower = new ObsSplitFollower(
      recording.outputPath,
      recording.startedAt,
      recording.segmentation,
      before,
      host.logger,
      host.stateFile,
      (file) => host.foreign(file),
    );
    await follower.save();
    return new ObsParts(follower, host);
  }

  /** The parts a previous station run was collecting (its state file), if any. */
  static async resume(host: PartsHost): Promise<ObsParts | undefined> {
    const follower = await ObsSplitFollower.resume(host.stateFile, host.logger, (file) => host.foreign(file));
    return follower ? new ObsParts(follower, host) : undefined;
  }

  get outputPath(): string {
    return this.follower.outputPath;
  }

  get startedAt(): string {
    return this.follower.startedAt;
  }

  get segmentation(): ObsSegmentation {
    return this.follower.segmentation;
  }

  /** Reports parts from now on (a resumed follower first reports those collected before). */
  watch(): void {
    this.follower.watch((segment) => this.host.emitSegment(segment));
    const { mode, seconds } = this.follower.segmentation;
    if (mode !== 'split-request' || !seconds) return;
    // A refusal may be passing (paused); three in a row mean OBS will not cut this recording.
    let refusals = 0;
    this.splitTimer = setInterval(() => {
      this.host.split().then(
        () => (refusals = 0),
        (error: unknown) => {
          refusals += 1;
          this.host.logger.warn({ err: error, refusals }, 'OBS refused SplitRecordFile');
          if (refusals >= 3) clearInterval(this.splitTimer);
        },
      );
    }, seconds * 1000);
    this.splitTimer.unref();
  }

  /** RecordFileChanged (obs-websocket ≥ 5.5): look at the folder now. */
  fileChanged(): void {
    this.follower.fileChanged();
  }

  /** The station goes away while OBS records on: stop watching, move nothing. */
  stop(): void {
    clearInterval(this.splitTimer);
    this.follower.stop();
  }

  /** OBS stopped (or was lost): every part, in order, the last ones moved now. Runs once. */
  collect(interrupted: boolean): Promise<string[]> {
    clearInterval(this.splitTimer);
    this.collecting ??= this.follower.finish(interrupted);
    return this.collecting;
  }
}

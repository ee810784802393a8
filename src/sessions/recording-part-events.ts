import type { Recorder, RecordingSegmentEvent } from '../recorder/index.js';
import type { RecordingUploads } from './recording-uploads.js';
import type { RecordingView } from './session-catalog.js';

/** What the part follower reads from the manager. */
export interface RecordingPartEventsOptions {
  uploads: RecordingUploads;
  autoProcess: boolean;
  /** The running recording, once startRecording() stored it. */
  active: () => RecordingView | undefined;
  /** startRecording() is still storing the recording. */
  starting: () => boolean;
}

/**
 * With auto-upload, hands a segmented recording's parts to its upload as the recorder reports
 * them: each closed part (`segment`) is sent at once, and the part being written (`segment-open`)
 * is sent while it grows. Part 0 may open before startRecording() stored the recording: that
 * event is kept and replayed by `started()`.
 */
export class RecordingPartEvents {
  private early: RecordingSegmentEvent | undefined;

  constructor(private readonly options: RecordingPartEventsOptions) {}

  /** Follows the recorder's part events; returns the unsubscriber. */
  listen(recorder: Recorder): () => void {
    const onClosed = (e: RecordingSegmentEvent) => this.closed(e);
    const onOpened = (e: RecordingSegmentEvent) => this.opened(e);
    recorder.on('segment', onClosed);
    recorder.on('segment-open', onOpened);
    return () => {
      recorder.off('segment', onClosed);
      recorder.off('segment-open', onOpened);
    };
  }

  private closed(event: RecordingSegmentEvent): void {
    const recording = this.recordingOf(event);
    if (!recording) return;
    this.options.uploads.addPart(
      recording,
      { index: event.index, filePath: event.path },
      this.options.autoProcess,
    );
  }

  private opened(event: RecordingSegmentEvent): void {
    if (this.options.starting()) this.early = event;
    const recording = this.recordingOf(event);
    if (!recording) return;
    this.options.uploads.openPart(
      recording,
      { index: event.index, filePath: event.path },
      this.options.autoProcess,
    );
  }

  /** The recording is stored and running: a part opened meanwhile is handed now. */
  started(): void {
    const early = this.early;
    this.early = undefined;
    if (early) this.opened(early);
  }

  private recordingOf(event: RecordingSegmentEvent): RecordingView | undefined {
    const recording = this.options.active();
    return recording?.sourcePath === event.outputPath ? recording : undefined;
  }
}

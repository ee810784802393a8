import { EventEmitter } from 'node:events';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import type {
  Recorder,
  RecorderEvents,
  RecorderKind,
  RecorderStatus,
  RecordingFinishedEvent,
  RecordingStartedEvent,
  StartRecordingOptions,
} from '../../src/recorder/index.js';

/**
 * A FAKE Recorder for the manager's tests: it records nothing. It "records" by copying a real
 * clip (made by the test with real ffmpeg) to the output path when the recording stops, so the
 * manager's ffprobe/sha256/thumbnail steps see a real file. The test decides exactly when each
 * event happens: `holdStart()` keeps startRecording() pending so events can be fired "while
 * starting", and `emitFinished()`/`emitLost()`/`emitStarted()` play what a real backend reports.
 * Only the manager's state logic is under test here; the real backends have their own tests.
 */
export class FakeRecorder extends EventEmitter<RecorderEvents> implements Recorder {
  readonly kind: RecorderKind;
  readonly isFake = true;
  private current: { startedAt: string; outputPath: string; pid: number } | undefined;
  private connected: boolean;
  private gate: { promise: Promise<void>; open: () => void } | undefined;
  /** Every startRecording() call, in order. */
  readonly starts: StartRecordingOptions[] = [];

  constructor(
    private readonly clip: string,
    options: { kind?: RecorderKind; connected?: boolean; now?: () => Date } = {},
  ) {
    super();
    this.kind = options.kind ?? 'ffmpeg';
    this.connected = options.connected ?? true;
    this.now = options.now ?? (() => new Date());
  }

  private readonly now: () => Date;

  async start(): Promise<void> {
    await Promise.resolve();
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    await Promise.resolve();
  }

  status(): RecorderStatus {
    return {
      kind: this.kind,
      connected: this.connected,
      reconnecting: false,
      recording: this.current !== undefined,
      startedAt: this.current?.startedAt ?? null,
      outputPath: this.current?.outputPath ?? null,
      recordsIntoDirectory: true,
      lastError: this.connected ? null : { code: 'RECORDER_UNAVAILABLE', message: 'fake: disconnected' },
      version: 'fake',
    };
  }

  /** The next startRecording() stays pending until the returned function is called. */
  holdStart(): () => void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = { promise, open };
    return open;
  }

  async startRecording(options: StartRecordingOptions): Promise<RecordingStartedEvent> {
    this.starts.push(options);
    const startedAt = this.now().toISOString();
    this.current = {
      startedAt,
      outputPath: path.join(options.directory, `${options.baseName}.mkv`),
      pid: 999_999,
    };
    const event: RecordingStartedEvent = {
      startedAt,
      outputPath: this.current.outputPath,
      external: false,
      pid: this.current.pid,
    };
    const gate = this.gate;
    this.gate = undefined;
    if (gate) await gate.promise;
    return event;
  }

  async stopRecording(): Promise<RecordingFinishedEvent> {
    const event = await this.finishFile(false, false);
    this.emit('finished', event);
    return event;
  }

  /** The backend says the recording ended by itself (a source that ended, OBS's Stop button). */
  async emitFinished(options: { interrupted?: boolean } = {}): Promise<RecordingFinishedEvent> {
    const event = await this.finishFile(true, options.interrupted ?? false);
    this.emit('finished', event);
    return event;
  }

  /** The backend lost the recording without a file. */
  emitLost(message = 'fake: the recorder went away'): void {
    const startedAt = this.current?.startedAt ?? null;
    this.current = undefined;
    this.emit('lost', { startedAt, stoppedAt: this.now().toISOString(), message });
  }

  /** A recording started outside StreamAI, into `outputPath` (written when it finishes). */
  emitStarted(outputPath: string): void {
    const startedAt = this.now().toISOString();
    this.current = { startedAt, outputPath, pid: 0 };
    this.emit('started', { startedAt, outputPath, external: true });
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    this.emit('status', this.status());
  }

  private async finishFile(external: boolean, interrupted: boolean): Promise<RecordingFinishedEvent> {
    const current = this.current;
    if (!current) throw new Error('fake recorder: nothing is recording');
    this.current = undefined;
    await copyFile(this.clip, current.outputPath);
    return {
      outputPath: current.outputPath,
      startedAt: current.startedAt,
      stoppedAt: this.now().toISOString(),
      external,
      interrupted,
    };
  }
}

import type { EventEmitter } from 'node:events';

/** Which backend records. */
export type RecorderKind = 'obs' | 'ffmpeg';

/** What a recorder says about itself, for status pages and the manager's decisions. */
export interface RecorderStatus {
  kind: RecorderKind;
  /** OBS: the websocket is identified. ffmpeg: always true (the binary ships with the package). */
  connected: boolean;
  /** OBS: a reconnect is scheduled after the connection was lost or refused. */
  reconnecting: boolean;
  recording: boolean;
  startedAt: string | null;
  /** The file being written, when the backend knows it while recording. */
  outputPath: string | null;
  /** True when the backend writes straight into the session folder (no move afterwards). */
  recordsIntoDirectory: boolean;
  /** Why the recorder is not usable right now (wrong password, unreachable, …). */
  lastError: { code: string; message: string } | null;
  /** Backend version (OBS Studio / obs-websocket), when known. */
  version: string | null;
  /** How the running recording is cut into parts (RECORDING_SEGMENT_SECONDS); null or absent: one file. */
  segmentation?: RecorderSegmentation | null;
}

/** How a recording is cut into parts, for status pages. */
export interface RecorderSegmentation {
  /** OBS: `split-request`, `auto-split`, or `one-file` (with `reason`); see obs-split-settings.ts. */
  mode: string;
  /** How long a part lasts, when cut by time. */
  seconds: number | null;
  /** How large a part grows, when cut by size (MB). */
  sizeMb: number | null;
  /** Why a segmented recording could not be cut (it is one file). */
  reason: string | null;
}

/** A recording has begun. */
export interface RecordingStartedEvent {
  startedAt: string;
  outputPath: string | null;
  /** Started outside StreamAI (OBS's own button, another websocket client). */
  external: boolean;
  /** The recording process, for backends that run one (ffmpeg): lets a restart stop an orphan. */
  pid?: number | undefined;
}

/** A recording's file is complete and closed by the recorder. */
export interface RecordingFinishedEvent {
  outputPath: string;
  startedAt: string | null;
  stoppedAt: string;
  /** Stopped outside StreamAI. */
  external: boolean;
  /** The recorder went away while recording (OBS killed); the file may be truncated. */
  interrupted: boolean;
  /**
   * A segmented recording: the closed parts, in order, and `outputPath` is the file they are to
   * be joined into (it does not exist yet). Absent for a recording of one file.
   */
  segments?: string[] | undefined;
}

/** A part of a segmented recording: closed (complete and playable), or opened (`segment-open`), while recording goes on. */
export interface RecordingSegmentEvent {
  /** The recording's `outputPath` (the file the parts will be joined into). */
  outputPath: string;
  /** 0-based, in recording order. */
  index: number;
  /** The part's file. */
  path: string;
}

/** A recording ended without a file the recorder can point to. */
export interface RecordingLostEvent {
  startedAt: string | null;
  stoppedAt: string;
  message: string;
}

/** Typed events every recorder emits. */
export interface RecorderEvents {
  /** Connected, disconnected, reconnecting: the new status. */
  status: [RecorderStatus];
  started: [RecordingStartedEvent];
  /** Every completed file, whoever started or stopped it. */
  finished: [RecordingFinishedEvent];
  lost: [RecordingLostEvent];
  /** A segmented recording closed a part (see RECORDING_SEGMENT_SECONDS). */
  segment: [RecordingSegmentEvent];
  /**
   * A segmented recording opened a part that it writes append-only (MPEG-TS: a byte once
   * written never changes), so every prefix of the file is final and may be sent while it
   * grows. Emitted once per part, before that part's `segment`; never for a part whose
   * container rewrites its head on close (Matroska, MP4). A part that opened and closed between
   * two looks of the recorder gets its `segment-open` just before its `segment`. A part whose
   * writer (ffmpeg) was killed while writing it is still closed (`segment`, and the last of
   * `finished.segments`) when it holds any bytes: append-only, it is readable up to the cut.
   */
  'segment-open': [RecordingSegmentEvent];
}

/** Where and under what name to record. */
export interface StartRecordingOptions {
  /** The session folder; backends that can write there directly do. */
  directory: string;
  /** File name without extension, for backends that choose their own name (ffmpeg). */
  baseName: string;
}

/**
 * One interface for both backends. A recorder records one file at a time; it knows nothing of
 * sessions or uploads. `stopRecording` resolves only when the file is complete on disk.
 */
export interface Recorder extends EventEmitter<RecorderEvents> {
  readonly kind: RecorderKind;
  /** Connects (OBS) or checks the binary (ffmpeg). OBS keeps retrying in the background on failure. */
  start(): Promise<void>;
  /** Ends connections, timers and child processes. A running ffmpeg recording is stopped and finalised. */
  close(): Promise<void>;
  status(): RecorderStatus;
  startRecording(options: StartRecordingOptions): Promise<RecordingStartedEvent>;
  stopRecording(): Promise<RecordingFinishedEvent>;
}

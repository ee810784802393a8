/** Recorders: one `Recorder` interface with OBS Studio (obs-websocket v5) and ffmpeg backends. */
export type {
  Recorder,
  RecorderKind,
  RecorderEvents,
  RecorderStatus,
  RecorderSegmentation,
  RecordingStartedEvent,
  RecordingFinishedEvent,
  RecordingLostEvent,
  RecordingSegmentEvent,
  StartRecordingOptions,
} from './recorder.js';
export { segmentFolderFor, listSegmentFiles, SEGMENT_LIST_FILE } from './segments.js';
export { FfmpegRecorder, type FfmpegRecorderOptions } from './ffmpeg-recorder.js';
export { ObsRecorder, type ObsRecorderOptions } from './obs-recorder.js';
export { parseFfmpegSource, type FfmpegSource } from './ffmpeg-source.js';
export { createRecorder } from './create-recorder.js';

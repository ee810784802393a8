/** The ffmpeg pipeline the ingest server runs on each upload, and the queue that runs it. */
export {
  ProcessingService,
  DEFAULT_LEASE_MS,
  type ProcessingEvents,
  type ProcessingJobInput,
  type ProcessingServiceOptions,
  type ProcessingSettings,
  type ProcessingStatus,
} from './processing-service.js';
export { processorFromConfig, processingSettingsFromConfig } from './processor-from-config.js';
export {
  runPipeline,
  listOutputs,
  overallProgress,
  OPTIONAL_STEPS,
  REPORT_NAME,
  STEP_NAMES,
  type OutputFile,
  type PipelineHooks,
  type PipelineSettings,
  type ProcessingReport,
  type StepName,
  type StepRecord,
  type StepState,
} from './pipeline.js';
export { probeMedia, probeDuration, type MediaInfo } from './probe-step.js';
export {
  makeThumbnails,
  THUMBNAIL_NAME,
  CONTACT_SHEET_NAME,
  SPRITE_NAME,
  type SpriteSheet,
  type ThumbnailResult,
} from './thumbnail-step.js';
export { makeWebVersion, WEB_NAME, type WebResult } from './web-step.js';
export {
  analyseAudio,
  parseSilences,
  parseLoudness,
  type AudioAnalysis,
  type SilentSegment,
} from './audio-analysis-step.js';
export {
  makeEdit,
  planCuts,
  keptRanges,
  EDITED_NAME,
  DEFAULT_CUT_PAD_SECONDS,
  type EditReport,
} from './edit-step.js';
export {
  detectChapters,
  chaptersFromSceneChanges,
  CHAPTERS_JSON_NAME,
  CHAPTERS_VTT_NAME,
  DEFAULT_CHAPTER_SETTINGS,
  type Chapter,
  type ChapterSettings,
} from './chapters-step.js';
export { childrenDieWithParent } from './run-ffmpeg.js';
export { startQueueWorker, type QueueWorker } from './queue-worker.js';
export * from './transcribe/index.js';
export { writeTimeline, TIMELINE_NAME, type Timeline } from './timeline.js';
export { planSmartCut, type Piece, type SmartCutPlan } from './smart-cut.js';
export { readVideoPackets, parsePacketList, type VideoPackets } from './video-packets.js';
export {
  adtsFrameOffsets,
  planAudioCut,
  windowPackets,
  type AudioCutPlan,
  type AudioSegment,
} from './audio-cut.js';
export { audioGrid, AAC_FRAME, type AudioPackets } from './video-packets.js';

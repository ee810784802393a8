/** Media tools shared by the recorder, the upload validation and the processing pipeline. */
export {
  ffmpegPath,
  ffprobePath,
  mediaTools,
  describeMediaTools,
  resolveMediaTools,
  packagedTools,
  isRecentEnough,
  MIN_SYSTEM_VERSION,
  type MediaTool,
  type MediaTools,
  type MediaToolSource,
} from './binaries.js';

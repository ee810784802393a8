/** Media tools shared by the recorder, the upload validation and the processing pipeline. */
export { ffmpegPath, ffprobePath } from './binaries.js';

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Paths of the ffmpeg and ffprobe binaries shipped inside npm packages, so that nothing
 * depends on what the machine has installed. FFMPEG_PATH / FFPROBE_PATH are not read:
 * the packaged binaries are the ones the tests run against.
 */
export const ffmpegPath: string = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
export const ffprobePath: string = (require('@ffprobe-installer/ffprobe') as { path: string }).path;

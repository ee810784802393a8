import path from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import { FfmpegRecorder } from './ffmpeg-recorder.js';
import { ObsRecorder } from './obs-recorder.js';
import type { Recorder, RecorderKind } from './recorder.js';

/** The recorder the configuration asks for (RECORDER, FFMPEG_SOURCE, OBS_*), or `kind`/`source` overrides. */
export function createRecorder(
  config: Config,
  logger: Logger,
  overrides: { kind?: RecorderKind; source?: string } = {},
): Recorder {
  const kind = overrides.kind ?? config.recorder.kind;
  if (kind === 'obs') {
    return new ObsRecorder({
      host: config.recorder.obs.host,
      port: config.recorder.obs.port,
      password: config.recorder.obs.password,
      segmentSeconds: config.recorder.segmentSeconds,
      // A restarted station goes on collecting the parts of a recording OBS kept recording.
      stateFile: path.join(config.station.dataDir, 'obs-recording-parts.json'),
      logger: logger.child({ part: 'obs-recorder' }),
    });
  }
  return new FfmpegRecorder({
    source: overrides.source ?? config.recorder.ffmpegSource,
    segmentSeconds: config.recorder.segmentSeconds,
    logger: logger.child({ part: 'ffmpeg-recorder' }),
  });
}

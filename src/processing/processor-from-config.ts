import type { Config } from '../config/index.js';
import type { Logger } from '../logging/index.js';
import type { Db } from '../store/index.js';
import { ProcessingService, type ProcessingSettings } from './processing-service.js';

/** The INGEST_* settings as the processing service takes them. */
export function processingSettingsFromConfig(config: Config): ProcessingSettings {
  return {
    workers: config.ingest.workers,
    stepTimeoutMs: config.ingest.stepTimeoutMs,
    silenceThresholdDb: config.ingest.silenceThresholdDb,
    silenceMinSeconds: config.ingest.silenceMinSeconds,
    chapters: config.ingest.chapters,
    transcribe: {
      engine: config.ingest.transcribe,
      whisperBin: config.ingest.whisperBin,
      whisperModel: config.ingest.whisperModel,
    },
  };
}

/**
 * The factory the ingest server calls once its database is open (`createProcessor` in its
 * options): a ProcessingService over that database, configured from INGEST_*.
 */
export function processorFromConfig(
  config: Config,
): (ctx: { db: Db; dataDir: string; logger: Logger }) => ProcessingService {
  const settings = processingSettingsFromConfig(config);
  return (ctx) =>
    new ProcessingService({
      db: ctx.db,
      dataDir: ctx.dataDir,
      logger: ctx.logger.child({ part: 'processing' }),
      settings,
    });
}

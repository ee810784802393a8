import path from 'node:path';
import { silentLogger } from '../../src/logging/index.js';
import { ProcessingService, type ProcessingSettings } from '../../src/processing/index.js';
import { ingestMigrations, openDatabase, type Db } from '../../src/store/index.js';

/** Settings for tests: one worker, the defaults of INGEST_*, generous limits. */
export const testSettings: ProcessingSettings = {
  workers: 1,
  stepTimeoutMs: 120_000,
  silenceThresholdDb: -30,
  silenceMinSeconds: 1,
  chapters: false,
};

/** Opens the ingest database the way the ingest server does. */
export function openIngestDb(dataDir: string): Db {
  return openDatabase(path.join(dataDir, 'ingest.db'), ingestMigrations);
}

/** A ProcessingService over a real database in dataDir. */
export function makeService(
  db: Db,
  dataDir: string,
  settings: Partial<ProcessingSettings> = {},
): ProcessingService {
  return new ProcessingService({
    db,
    dataDir,
    logger: silentLogger(),
    settings: { ...testSettings, ...settings },
  });
}

/** Resolves with the outcome of a task's next run ("done" or "failed"). */
export function outcome(service: ProcessingService, taskId: string): Promise<'done' | 'failed'> {
  return new Promise((resolve) => {
    const onDone = ({ taskId: id }: { taskId: string }): void => {
      if (id === taskId) finish('done');
    };
    const onFailed = ({ taskId: id }: { taskId: string }): void => {
      if (id === taskId) finish('failed');
    };
    const finish = (result: 'done' | 'failed'): void => {
      service.off('done', onDone);
      service.off('failed', onFailed);
      resolve(result);
    };
    service.on('done', onDone);
    service.on('failed', onFailed);
  });
}

import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import {
  openDatabase,
  stationMigrations,
  type Db,
  type NewUploadTask,
  type UploadTaskRecord,
  type UploadTaskRepository,
} from '../../src/store/index.js';
import { UploadService, uploadSettingsFromConfig, type UploadSettings } from '../../src/uploads/index.js';
import { makeClip } from '../helpers/make-media.js';

/**
 * A real clip followed by random bytes up to `size`: ffprobe sees its streams (it reads the
 * head), and the random tail makes any misplaced byte change the digest.
 */
export async function makeBigClip(file: string, size: number): Promise<string> {
  await makeClip(file, { seconds: 1, format: 'matroska' });
  const handle = await open(file, 'a');
  try {
    const { size: have } = await handle.stat();
    const block = Buffer.alloc(4 * 1024 * 1024);
    for (let left = size - have; left > 0; left -= block.length) {
      randomFillSync(block);
      await handle.write(block, 0, Math.min(left, block.length));
    }
  } finally {
    await handle.close();
  }
  return file;
}

export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Upload settings for tests: the defaults of the configuration, with short delays. */
export function testSettings(
  dataDir: string,
  apiUrl: string,
  overrides: Partial<UploadSettings> = {},
): UploadSettings {
  const config = loadConfig({ env: { STREAMAI_DATA_DIR: dataDir }, envFile: false });
  return {
    ...uploadSettingsFromConfig(config, apiUrl),
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 400,
    insufficientStorageDelayMs: 300,
    growthCheckMs: 30,
    confirmTimeoutMs: 10_000,
    ...overrides,
  };
}

/** A station database and an upload service on it, both closed when the test ends. */
export function openService(
  t: TestContext,
  dataDir: string,
  settings: UploadSettings,
  options: { start?: boolean } = {},
): { db: Db; service: UploadService } {
  const db = openDatabase(path.join(dataDir, 'streamai.db'), stationMigrations);
  const service = new UploadService({ db, settings });
  t.after(async () => {
    await service.close();
    db.close();
  });
  if (options.start !== false) service.start();
  return { db, service };
}

/** Inserts a task row directly (as an earlier process or version would have left it). */
export function insertTask(
  repo: UploadTaskRepository,
  overrides: Partial<NewUploadTask> & { id: string },
): UploadTaskRecord {
  const at = new Date().toISOString();
  return repo.insert(
    {
      filePath: `/nowhere/${overrides.id}.mkv`, fileName: `${overrides.id}.mkv`, fileSize: 10, fileMtimeMs: 1,
      sessionName: null, recordingId: null, autoProcess: false, state: 'queued', attempts: 0,
      nextAttemptAt: null, bytesSent: 0, size: 10, sha256: null, protocol: null, remoteUrl: null,
      uploadPath: null, compressionRatio: null, lastErrorCode: null, lastErrorMessage: null,
      leaseOwner: null, createdAt: at, completedAt: null,
      ...overrides,
    },
    'enqueued',
  ); // prettier-ignore
}

/** Appends 4 KiB to the file every 50 ms, 20 times (a recorder still writing it). */
export function keepGrowing(t: TestContext, file: string): void {
  let writes = 0;
  const writer = setInterval(() => {
    writes += 1;
    void appendFile(file, Buffer.alloc(4096, writes));
    if (writes >= 20) clearInterval(writer);
  }, 50);
  t.after(() => clearInterval(writer));
}

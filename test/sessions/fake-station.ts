import type { TestContext } from 'node:test';
import path from 'node:path';
import { pino } from 'pino';
import type { RecorderKind } from '../../src/recorder/index.js';
import { RecordingManager } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations, type Db } from '../../src/store/index.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';
import { FakeRecorder } from './fake-recorder.js';
import { FakeUploadQueue } from './fake-upload-queue.js';

/** A clock the test moves by hand. */
export interface ManualClock {
  now: () => Date;
  advance: (ms: number) => void;
}

export function manualClock(start = Date.parse('2026-06-01T10:00:00.000Z')): ManualClock {
  let at = start;
  return {
    now: () => new Date(at),
    advance: (ms) => {
      at += ms;
    },
  };
}

export interface FakeStation {
  dir: string;
  clip: string;
  recordingsPath: string;
  db: Db;
  recorder: FakeRecorder;
  uploads: FakeUploadQueue;
  manager: RecordingManager;
  clock: ManualClock;
  logs: Array<{ level: number; msg: string }>;
  /** Closes the manager and the database (as a clean shutdown; also done when the test ends). */
  close: () => Promise<void>;
}

/**
 * A RecordingManager over a FAKE recorder and a FAKE upload queue (the real ones are tested in
 * recording-manager.test.ts and test/recorder/), on a real database and real files, with a
 * manual clock and a logger the test reads. Pass `dir`/`clip` again to "restart" the station.
 */
export async function fakeStation(
  t: TestContext,
  options: {
    dir?: string;
    clip?: string;
    kind?: RecorderKind;
    connected?: boolean;
    before?: (recorder: FakeRecorder) => void;
  } = {},
): Promise<FakeStation> {
  const dir = options.dir ?? (await tempDir(t));
  const clip =
    options.clip ?? (await makeClip(path.join(dir, 'clip.mkv'), { seconds: 1, format: 'matroska' }));
  const db = openDatabase(path.join(dir, 'data', 'streamai.db'), stationMigrations);
  const clock = manualClock();
  const recorder = new FakeRecorder(clip, {
    now: clock.now,
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.connected === undefined ? {} : { connected: options.connected }),
  });
  options.before?.(recorder);
  const uploads = new FakeUploadQueue(clock.now);
  const logs: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const recordingsPath = path.join(dir, 'recordings');
  const manager = new RecordingManager({ recorder, db, recordingsPath, uploads, logger, now: clock.now });
  await manager.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await manager.close();
    db.close();
  };
  t.after(close);
  return { dir, clip, recordingsPath, db, recorder, uploads, manager, clock, logs, close };
}

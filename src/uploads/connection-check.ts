import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { formatBytes } from '../config/index.js';
import { isAppError } from '../errors/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import { ffmpegPath } from '../media/index.js';
import { openDatabase } from '../store/open-database.js';
import { stationMigrations } from '../store/migrations/station-migrations.js';
import { UploadHttpClient } from './http-client.js';
import { probeServer } from './server-api.js';
import { confirmationText } from './task-view.js';
import { UploadService } from './upload-service.js';
import type { UploadSettings } from './upload-types.js';

/** One line of the integration check: what was checked, whether it passed, and why. */
export interface ConnectionCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface ConnectionCheckOptions {
  /** Also upload a short generated clip and read its status back [false]. */
  roundTrip?: boolean;
  /** Called as each check finishes (the CLI prints lines as they come). */
  onCheck?: (check: ConnectionCheck) => void;
  logger?: Logger;
}

/** A user-facing description of a failure: its code and message, never a stack. */
export function describeFailure(error: unknown): string {
  if (isAppError(error)) return `[${error.code}] ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The integration check the original shipped as a script: the server's /health, whether it
 * accepts our API key, and (optionally) a round-trip upload of a 2-second clip with its status.
 * Used by `streamai test` and GET /api/vultr/test.
 */
export async function runConnectionCheck(
  settings: UploadSettings,
  options: ConnectionCheckOptions = {},
): Promise<ConnectionCheck[]> {
  if (settings.s3) return runBucketCheck(settings, options);
  const results: ConnectionCheck[] = [];
  const report = (name: string, ok: boolean, detail: string): void => {
    const check = { name, ok, detail };
    results.push(check);
    options.onCheck?.(check);
  };
  const http = new UploadHttpClient(settings);
  let healthy = false;
  try {
    try {
      const caps = await probeServer(http);
      healthy = true;
      report(
        'health',
        true,
        caps.health === undefined
          ? 'no /health (an older multipart-only server)'
          : `${caps.tusEndpoint ? 'tus' : 'multipart'}${caps.maxUploadBytes ? `, max ${formatBytes(caps.maxUploadBytes)}` : ''}`,
      );
    } catch (error) {
      report('health', false, describeFailure(error));
    }
    if (healthy) {
      try {
        const answer = await http.short('GET', '/uploads?limit=1', { what: 'auth check' });
        if (answer.status === 401 || answer.status === 403) {
          report(
            'auth',
            false,
            `the server refused the API key (HTTP ${answer.status}); check VULTR_API_KEY`,
          );
        } else if (answer.status === 404) report('auth', true, 'not checked (the server has no /uploads)');
        else if (answer.status === 200)
          report('auth', true, settings.apiKey ? 'API key accepted' : 'no key needed');
        else report('auth', false, `unexpected HTTP ${answer.status} from /uploads`);
      } catch (error) {
        report('auth', false, describeFailure(error));
      }
    }
  } finally {
    await http.close();
  }
  if (options.roundTrip && results.every((r) => r.ok)) {
    await roundTrip(settings, report, options.logger ?? silentLogger());
  }
  return results;
}

/** UPLOAD_TARGET=s3: credentials, write, read back, delete against the bucket (one line each). */
async function runBucketCheck(
  settings: UploadSettings,
  options: ConnectionCheckOptions,
): Promise<ConnectionCheck[]> {
  const s3 = settings.s3 as NonNullable<UploadSettings['s3']>;
  // Loaded only for a bucket: the AWS SDK is large, and a server check does not need it.
  const { checkBucket, createS3Client } = await import('../object-storage/index.js');
  const client = createS3Client(s3, { connectTimeoutMs: settings.connectTimeoutMs });
  try {
    return await checkBucket(client, s3, (check) => options.onCheck?.(check));
  } finally {
    client.destroy();
  }
}

async function roundTrip(
  settings: UploadSettings,
  report: (name: string, ok: boolean, detail: string) => void,
  logger: Logger,
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-test-'));
  // A database of its own: the check's upload does not belong in the station's history.
  const db = openDatabase(path.join(dir, 'test.db'), stationMigrations);
  const service = new UploadService({
    db,
    settings: { ...settings, retries: 0, growthCheckMs: 50, tempDir: path.join(dir, 'tmp') },
    logger,
  });
  try {
    const clip = path.join(dir, 'streamai-test-clip.mp4');
    await promisify(execFile)(ffmpegPath, [
      '-hide_banner', '-loglevel', 'error', '-y',
      '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', clip,
    ]); // prettier-ignore
    service.start();
    const started = performance.now();
    const queued = await service.enqueue(clip, { sessionName: 'streamai test', autoProcess: false });
    const task = await service.waitFor(queued.id);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (task.state !== 'completed') {
      report(
        'upload',
        false,
        task.lastError ? `[${task.lastError.code}] ${task.lastError.message}` : task.state,
      );
      return;
    }
    report(
      'upload',
      true,
      `${formatBytes(task.size)} via ${task.protocol} in ${seconds} s, ${confirmationText(task)} (${task.id})`,
    );
    try {
      const remote = await service.remoteStatus(task.id);
      const state = (remote as { state?: unknown } | undefined)?.state;
      if (remote === undefined) report('status', true, 'not checked (the server has no /status)');
      else report('status', true, `the server reports ${typeof state === 'string' ? state : 'the task'}`);
    } catch (error) {
      report('status', false, describeFailure(error));
    }
  } catch (error) {
    report('upload', false, describeFailure(error));
  } finally {
    await service.close();
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

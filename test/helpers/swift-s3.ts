import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const script = path.join(import.meta.dirname, 'swift-s3-server.py');

/** A real OpenStack Swift with its s3api middleware, on a loopback port, in a temporary folder. */
export interface SwiftS3 {
  /** http://127.0.0.1:<port> — path-style S3 (set S3_FORCE_PATH_STYLE=true). */
  endpoint: string;
  port: number;
  /** The Python process, leader of the process group that `stop()` kills. */
  pid: number;
  region: 'us-east-1';
  /** tempauth's `test:tester` / `testing` (an `.admin` of account AUTH_test). */
  accessKeyId: string;
  secretAccessKey: string;
  /** A second user of another account (`test:other` / `other`), for access-denied cases. */
  other: { accessKeyId: string; secretAccessKey: string };
  /** The temporary folder holding rings, configs and the object data. */
  folder: string;
  /** The environment a station needs to upload into `bucket` (UPLOAD_TARGET=s3 and S3_*). */
  env(bucket: string): Record<string, string>;
  /** A plain SDK client as `test:tester` (checksums WHEN_REQUIRED, as Swift needs). */
  client(): S3Client;
  /** Creates a bucket (a Swift container) and returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Kills the process group (Swift and its memcached) and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

export interface SwiftS3Options {
  /** Bound on the start-up [30 s]. */
  timeoutMs?: number;
}

/** The SDK warns on Node 20 about releases after January 2027; the version we pin supports 20. */
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

let bucketCount = 0;

/**
 * Starts Swift (account, container, object and proxy servers as green threads of one Debian
 * `/usr/bin/python3` process, each on a socket it bound to port 0, plus memcached for
 * tempauth) and resolves once it listens. Its own process group: `stop()` kills the group, and
 * it exits by itself when this process dies (its stdin closes). Starts in about a second.
 */
export async function startSwiftS3(options: SwiftS3Options = {}): Promise<SwiftS3> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const folder = await mkdtemp(path.join(tmpdir(), 'streamai-swift-'));
  const child = spawn('/usr/bin/python3', [script, folder], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: folder, LANG: 'C.UTF-8' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  const killGroup = (signal: NodeJS.Signals = 'SIGKILL'): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const killAtExit = (): void => killGroup();
  process.once('exit', killAtExit);
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(
        () => reject(new Error(`Swift did not start within ${timeoutMs} ms: ${stderr}`)),
        timeoutMs,
      );
      child.stdout?.setEncoding('utf8').on('data', (c: string) => {
        out += c;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line === undefined) return;
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`Swift exited (${code ?? signal}) before it was ready: ${stderr}`));
      });
    });
  } catch (error) {
    killGroup();
    process.removeListener('exit', killAtExit);
    await rm(folder, { recursive: true, force: true });
    throw error;
  }

  const endpoint = `http://127.0.0.1:${port}`;
  const accessKeyId = 'test:tester';
  const secretAccessKey = 'testing';
  let stopped: Promise<void> | undefined;
  const swift: SwiftS3 = {
    endpoint,
    port,
    pid: child.pid as number,
    region: 'us-east-1',
    accessKeyId,
    secretAccessKey,
    other: { accessKeyId: 'test:other', secretAccessKey: 'other' },
    folder,
    env: (bucket) => ({
      UPLOAD_TARGET: 's3',
      S3_ENDPOINT: endpoint,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: accessKeyId,
      S3_SECRET_ACCESS_KEY: secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    }),
    client: () =>
      new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId, secretAccessKey },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      }),
    createBucket: async (name) => {
      bucketCount += 1;
      const bucket = name ?? `test-${process.pid}-${bucketCount}`;
      const client = swift.client();
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
      return bucket;
    },
    stop: () => {
      stopped ??= (async () => {
        // SIGTERM lets Python reap memcached (an orphan waits long for this container's init);
        // SIGKILL follows for whatever is left.
        const gone = exited(child);
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup(), 2000);
        await gone;
        clearTimeout(timer);
        killGroup();
        for (let i = 0; i < 100 && groupAlive(child.pid); i += 1) await sleep(20);
        process.removeListener('exit', killAtExit);
        await rm(folder, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
  return swift;
}

/** A Swift for one test (or one `describe`'s `before`), stopped when it ends. */
export async function swiftS3ForTest(t: TestContext, options?: SwiftS3Options): Promise<SwiftS3> {
  const swift = await startSwiftS3(options);
  t.after(() => swift.stop());
  return swift;
}

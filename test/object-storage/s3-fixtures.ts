import { createHash } from 'node:crypto';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { loadConfig } from '../../src/config/index.js';
import { uploadSettingsFromConfig, type UploadSettings } from '../../src/uploads/index.js';
import { startSwiftS3, type SwiftS3 } from '../helpers/swift-s3.js';

/** Upload settings for UPLOAD_TARGET=s3 into `bucket` at `endpoint` (Swift or a proxy before it). */
export function s3Settings(
  swift: SwiftS3,
  dataDir: string,
  bucket: string,
  options: { endpoint?: string; env?: Record<string, string>; overrides?: Partial<UploadSettings> } = {},
): UploadSettings {
  const config = loadConfig({
    env: {
      STREAMAI_DATA_DIR: dataDir,
      VULTR_UPLOAD_CHUNK_SIZE: '5MiB',
      ...swift.env(bucket),
      ...(options.endpoint ? { S3_ENDPOINT: options.endpoint } : {}),
      ...options.env,
    },
    envFile: false,
  });
  return {
    ...uploadSettingsFromConfig(config),
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 400,
    growthCheckMs: 30,
    ...options.overrides,
  };
}

/** The sha256 of an object, read back from the bucket. */
export async function objectSha256(client: S3Client, bucket: string, key: string): Promise<string> {
  const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('sha256');
  for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

/** Unfinished multipart uploads in the bucket. */
export async function openUploads(client: S3Client, bucket: string): Promise<string[]> {
  const answer = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (answer.Uploads ?? []).map((u) => u.UploadId ?? '');
}

/** Polls until `check` holds (a background abort, a process's progress), or fails after `ms`. */
export async function eventually(
  check: () => Promise<boolean> | boolean,
  ms = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** One Swift (and a client on it) for every test of the file: started before, stopped after. */
export function sharedSwift(): { readonly swift: SwiftS3; readonly client: S3Client } {
  let swift: SwiftS3 | undefined;
  let client: S3Client | undefined;
  before(async () => {
    swift = await startSwiftS3();
    client = swift.client();
  });
  after(async () => {
    client?.destroy();
    await swift?.stop();
  });
  return {
    get swift() {
      if (!swift) throw new Error('Swift is not started yet (use it inside a test)');
      return swift;
    },
    get client() {
      if (!client) throw new Error('Swift is not started yet (use it inside a test)');
      return client;
    },
  };
}

import { createHash, randomBytes } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3Config } from '../config/index.js';
import { s3Error } from './s3-errors.js';

/** One line of the bucket check. */
export interface BucketCheck {
  name: 'credentials' | 'write' | 'read back' | 'delete';
  ok: boolean;
  detail: string;
}

function describe(error: unknown, what: string): string {
  const e = s3Error(error, what);
  return `[${e.code}] ${e.message}`;
}

/**
 * `streamai test` against a bucket: the credentials (HeadBucket), a small write (with
 * Content-MD5), reading it back byte for byte, and deleting it. Each check reports as it
 * finishes; after a failure the checks that depend on it are not run.
 */
export async function checkBucket(
  client: S3Client,
  config: Pick<S3Config, 'bucket' | 'prefix'>,
  onCheck: (check: BucketCheck) => void = () => undefined,
): Promise<BucketCheck[]> {
  const results: BucketCheck[] = [];
  const report = (name: BucketCheck['name'], ok: boolean, detail: string): boolean => {
    const check = { name, ok, detail };
    results.push(check);
    onCheck(check);
    return ok;
  };
  const bucket = config.bucket;
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    report('credentials', true, `bucket ${bucket} reachable, keys accepted`);
  } catch (error) {
    report('credentials', false, describe(error, `bucket ${bucket}`));
    return results;
  }
  const key = `${config.prefix}.streamai-test-${randomBytes(6).toString('hex')}`;
  const body = randomBytes(4096);
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentLength: body.length,
        ContentMD5: createHash('md5').update(body).digest('base64'),
      }),
    );
    report('write', true, `wrote ${body.length} bytes to ${key}`);
  } catch (error) {
    report('write', false, describe(error, `writing ${key}`));
    return results;
  }
  try {
    const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const back = Buffer.from(
      await (answer.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    if (back.equals(body)) report('read back', true, 'the same bytes came back');
    else report('read back', false, `read ${back.length} bytes that differ from the ${body.length} written`);
  } catch (error) {
    report('read back', false, describe(error, `reading ${key} back`));
  }
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    report('delete', true, `deleted ${key}`);
  } catch (error) {
    report('delete', false, describe(error, `deleting ${key}`));
  }
  return results;
}

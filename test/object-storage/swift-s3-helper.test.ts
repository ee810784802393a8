import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startSwiftS3 } from '../helpers/swift-s3.js';

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the Swift helper serves S3 on loopback and stop() ends its whole process group', async () => {
  const swift = await startSwiftS3();
  try {
    assert.match(swift.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    const bucket = await swift.createBucket();
    const client = swift.client();
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'é/hello.txt', Body: 'hello' }));
    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'é/hello.txt' }));
    assert.equal(await got.Body?.transformToString(), 'hello');
    client.destroy();
    assert.equal(groupAlive(swift.pid), true);
  } finally {
    await swift.stop();
  }
  assert.equal(groupAlive(swift.pid), false, 'Swift or its memcached outlived stop()');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors/index.js';

const bucketEnv = {
  UPLOAD_TARGET: 's3',
  S3_ENDPOINT: 'https://ewr1.vultrobjects.com/',
  S3_BUCKET: 'streamai-recordings',
  S3_ACCESS_KEY_ID: 'AKIA1',
  S3_SECRET_ACCESS_KEY: 'very-secret-value',
};

test('without S3 settings uploads go to the server and the ingest server keeps files on disk', () => {
  const config = loadConfig({ env: {}, envFile: false });
  assert.deepEqual(config.storage, { uploadTarget: 'server', ingestStorage: 'fs', s3: undefined });
});

test('UPLOAD_TARGET=s3 reads the bucket with its defaults', () => {
  const config = loadConfig({ env: bucketEnv, envFile: false });
  assert.deepEqual(config.storage, {
    uploadTarget: 's3',
    ingestStorage: 'fs',
    s3: {
      endpoint: 'https://ewr1.vultrobjects.com',
      region: 'us-east-1',
      bucket: 'streamai-recordings',
      prefix: 'recordings/',
      accessKeyId: 'AKIA1',
      secretAccessKey: 'very-secret-value',
      forcePathStyle: false,
    },
  });
});

test('S3_PREFIX without a trailing slash names the same folder; empty means the bucket root', () => {
  const folder = loadConfig({ env: { ...bucketEnv, S3_PREFIX: 'station-1/rec' }, envFile: false });
  assert.equal(folder.storage.s3?.prefix, 'station-1/rec/');
  const root = loadConfig({ env: { ...bucketEnv, S3_PREFIX: '' }, envFile: false });
  assert.equal(root.storage.s3?.prefix, '');
});

test('INGEST_STORAGE=s3 needs the same S3_* variables', () => {
  const config = loadConfig({
    env: { ...bucketEnv, UPLOAD_TARGET: 'server', INGEST_STORAGE: 's3', S3_FORCE_PATH_STYLE: 'true' },
    envFile: false,
  });
  assert.equal(config.storage.ingestStorage, 's3');
  assert.equal(config.storage.s3?.forcePathStyle, true);
});

test('a missing or wrong S3 value stops start-up with one line naming the variable', () => {
  const without = (name: keyof typeof bucketEnv): Record<string, string> => {
    const env: Record<string, string> = { ...bucketEnv };
    delete env[name];
    return env;
  };
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ UPLOAD_TARGET: 'bucket' }, /^UPLOAD_TARGET: expects server or s3 \(got "bucket"\)$/],
    [{ INGEST_STORAGE: 'disk' }, /^INGEST_STORAGE: expects fs or s3 \(got "disk"\)$/],
    [without('S3_BUCKET'), /^S3_BUCKET: is required when UPLOAD_TARGET=s3 \(the bucket recordings go to\)$/],
    [without('S3_ACCESS_KEY_ID'), /^S3_ACCESS_KEY_ID: is required when UPLOAD_TARGET=s3/],
    [without('S3_SECRET_ACCESS_KEY'), /^S3_SECRET_ACCESS_KEY: is required when UPLOAD_TARGET=s3/],
    [{ INGEST_STORAGE: 's3', S3_BUCKET: 'b-1' }, /^S3_ACCESS_KEY_ID: is required when INGEST_STORAGE=s3/],
    [{ ...bucketEnv, S3_BUCKET: 'My_Bucket' }, /^S3_BUCKET: expects a bucket name/],
    [{ ...bucketEnv, S3_BUCKET: 'ab' }, /^S3_BUCKET: expects a bucket name/],
    [
      { ...bucketEnv, S3_ENDPOINT: 'ewr1.vultrobjects.com' },
      /^S3_ENDPOINT: expects an http:\/\/ or https:\/\/ URL/,
    ],
    [{ ...bucketEnv, S3_REGION: 'EWR 1' }, /^S3_REGION: expects a region name/],
    [{ ...bucketEnv, S3_PREFIX: '/recordings/' }, /^S3_PREFIX: expects a key prefix/],
    [{ ...bucketEnv, S3_PREFIX: 'a/../b/' }, /^S3_PREFIX: expects a key prefix/],
    [{ ...bucketEnv, S3_FORCE_PATH_STYLE: 'sometimes' }, /^S3_FORCE_PATH_STYLE: expects true or false/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(
      () => loadConfig({ env, envFile: false }),
      (error: unknown) => {
        assert.ok(error instanceof AppError && error.code === 'CONFIG_INVALID');
        assert.match(error.message, pattern);
        assert.doesNotMatch(error.message, /\n/);
        assert.doesNotMatch(error.message, /very-secret-value/);
        return true;
      },
      JSON.stringify(env),
    );
  }
});

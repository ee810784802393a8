import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, parseByteSize } from '../../src/config/index.js';
import { AppError } from '../../src/errors/index.js';
import { tempDir } from '../helpers/temp-dir.js';

test('defaults give a working embedded setup', () => {
  const config = loadConfig({ env: {}, envFile: false });
  assert.equal(config.station.host, '127.0.0.1');
  assert.equal(config.station.port, 5000);
  assert.equal(config.recorder.kind, 'ffmpeg');
  assert.equal(config.upload.apiUrl, undefined);
  assert.equal(config.upload.endpoint, '/upload');
  assert.equal(config.recorder.obs.port, 4455);
  assert.equal(config.ingest.port, 8080);
  assert.equal(config.upload.retries, 8);
  assert.equal(config.upload.requestTimeoutMs, 300_000);
});

test('the original variable names are read', () => {
  const config = loadConfig({
    env: {
      VULTR_API_URL: 'https://media.example.org:8080/',
      VULTR_UPLOAD_ENDPOINT: '/api/upload',
      VULTR_AUTO_UPLOAD: 'false',
      VULTR_API_KEY: 'k1',
      OBS_HOST: '10.0.0.5',
      OBS_PORT: '4460',
      OBS_PASSWORD: 'pw',
      RECORDINGS_PATH: '/srv/rec',
      LOG_LEVEL: 'debug',
      VULTR_UPLOAD_MAX_RATE: '5MB/s',
      INGEST_API_KEYS: 'a, b ,,c',
    },
    envFile: false,
  });
  assert.equal(config.upload.apiUrl, 'https://media.example.org:8080');
  assert.equal(config.upload.endpoint, '/api/upload');
  assert.equal(config.upload.autoUpload, false);
  assert.equal(config.recorder.kind, 'obs', 'OBS is used once it is configured');
  assert.deepEqual(config.recorder.obs, { host: '10.0.0.5', port: 4460, password: 'pw' });
  assert.equal(config.station.recordingsPath, '/srv/rec');
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.upload.maxRateBytesPerSecond, 5_000_000);
  assert.deepEqual(config.ingest.apiKeys, ['a', 'b', 'c']);
});

test('a bad value stops start-up with one line naming the variable and what it expects', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ OBS_PORT: 'abc' }, /^OBS_PORT: expects a whole number from 1 to 65535 \(got "abc"\)$/],
    [{ VULTR_AUTO_UPLOAD: 'maybe' }, /^VULTR_AUTO_UPLOAD: expects true or false/],
    [{ VULTR_API_URL: 'ftp://x' }, /^VULTR_API_URL: expects an http:\/\/ or https:\/\/ URL/],
    [{ INGEST_MAX_UPLOAD_BYTES: 'lots' }, /^INGEST_MAX_UPLOAD_BYTES: expects a byte size/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: expects one of/],
    [{ INGEST_TLS_CERT: '/tmp/cert.pem' }, /^INGEST_TLS_CERT and INGEST_TLS_KEY/],
    [{ FFMPEG_SOURCE: 'webcam' }, /^FFMPEG_SOURCE: expects testsrc, screen.*\(got "webcam"\)/],
    [{ FFMPEG_SOURCE: 'url:' }, /^FFMPEG_SOURCE: expects/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(
      () => loadConfig({ env, envFile: false }),
      (error: unknown) =>
        error instanceof AppError && error.code === 'CONFIG_INVALID' && pattern.test(error.message),
      JSON.stringify(env),
    );
  }
});

test('.env is read under the environment, which wins', async (t) => {
  const file = path.join(await tempDir(t), '.env');
  writeFileSync(file, 'OBS_PORT=4999\nRECORDINGS_PATH=/from/file\n');
  const config = loadConfig({ env: { RECORDINGS_PATH: '/from/env' }, envFile: file });
  assert.equal(config.recorder.obs.port, 4999);
  assert.equal(config.station.recordingsPath, '/from/env');
});

test('byte sizes accept SI and binary units and rates', () => {
  assert.equal(parseByteSize('1024'), 1024);
  assert.equal(parseByteSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseByteSize('1.5 MB'), 1_500_000);
  assert.equal(parseByteSize('5MB/s'), 5_000_000);
  assert.equal(parseByteSize('five'), undefined);
  assert.equal(parseByteSize('3 parsecs'), undefined);
});

test('every FFMPEG_SOURCE form the ffmpeg recorder reads is accepted', () => {
  for (const source of [
    'testsrc',
    'screen',
    'screen::0.0',
    'v4l2:/dev/video0',
    'url:rtmp://127.0.0.1/live/key',
  ]) {
    assert.equal(
      loadConfig({ env: { FFMPEG_SOURCE: source }, envFile: false }).recorder.ffmpegSource,
      source,
    );
  }
});

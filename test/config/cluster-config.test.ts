import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors/index.js';

function refused(env: Record<string, string>, pattern: RegExp): void {
  assert.throws(
    () => loadConfig({ env, envFile: false }),
    (error: unknown) =>
      error instanceof AppError && error.code === 'CONFIG_INVALID' && pattern.test(error.message),
  );
}

test('without QUEUE_URL processing stays in the ingest server (the embedded default)', () => {
  const config = loadConfig({ env: {}, envFile: false });
  assert.deepEqual(config.cluster, { databaseUrl: undefined, queue: undefined });
});

test('QUEUE_URL picks BullMQ’s backend from its scheme and takes the job options', () => {
  const redis = loadConfig({
    env: { QUEUE_URL: 'redis://10.0.0.2:6379', QUEUE_LOCK_SECONDS: '90' },
    envFile: false,
  });
  assert.equal(redis.cluster.queue?.backend, 'redis');
  assert.equal(redis.cluster.queue?.lockDurationMs, 90_000);
  assert.equal(redis.cluster.queue?.attempts, 3);
  const pg = loadConfig({ env: { QUEUE_URL: 'postgres://u:p@db:5432/jobs' }, envFile: false });
  assert.equal(pg.cluster.queue?.backend, 'postgres');
});

test('a queue URL of another kind, or a lock too short to renew, stops start-up naming the variable', () => {
  refused({ QUEUE_URL: 'amqp://broker' }, /^QUEUE_URL: expects a postgres/);
  refused({ QUEUE_URL: 'not a url' }, /^QUEUE_URL: expects a URL/);
  refused({ QUEUE_URL: 'redis://h', QUEUE_LOCK_SECONDS: '1' }, /^QUEUE_LOCK_SECONDS/);
});

test('DATABASE_URL takes a postgres:// URL for the ingest state; another kind stops start-up naming it', () => {
  const config = loadConfig({ env: { DATABASE_URL: 'postgresql://u:p@db:5432/ingest' }, envFile: false });
  assert.equal(config.cluster.databaseUrl, 'postgresql://u:p@db:5432/ingest');
  refused({ DATABASE_URL: 'mysql://db/ingest' }, /^DATABASE_URL: expects a postgres/);
  refused({ DATABASE_URL: 'not a url' }, /^DATABASE_URL: expects a URL/);
});

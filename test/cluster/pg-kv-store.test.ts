import assert from 'node:assert/strict';
import test, { after } from 'node:test';
import pg from 'pg';
import { Upload } from '@tus/utils';
import { PgKvStore, tusSharing } from '../../src/cluster/index.js';
import { startPostgres } from '../helpers/postgres.js';

/** The shape @tus/s3-store keeps in its cache (MetadataValue). */
interface CachedUpload {
  file: Upload;
  'upload-id': string;
  'tus-version': string;
}

/** One PostgreSQL for the file; each test uses its own namespace. */
const server = await startPostgres({ after });

const upload = (id: string, size: number): CachedUpload => ({
  file: new Upload({
    id,
    size,
    offset: 0,
    metadata: { filename: 'take-1.mkv' },
    creation_date: '2026-12-01T18:00:00.000Z',
  }),
  'upload-id': `mpu-${id}`,
  'tus-version': '1.0.0',
});

test('two ingest nodes share one upload metadata cache on PostgreSQL: what one writes the other reads, updates and deletes', async (t) => {
  // Both nodes create the table at once on first use.
  const nodeA = new PgKvStore<CachedUpload>({ connectionString: server.url, namespace: 'tus-s3:' });
  const nodeB = new PgKvStore<CachedUpload>({ connectionString: server.url, namespace: 'tus-s3:' });
  t.after(() => Promise.all([nodeA.close(), nodeB.close()]));
  await Promise.all([nodeA.start(), nodeB.start()]);

  assert.equal(await nodeB.get('u1'), undefined, 'nothing before it is written');
  await nodeA.set('u1', upload('u1', 1000));
  const seen = await nodeB.get('u1');
  assert.equal(seen?.['upload-id'], 'mpu-u1');
  assert.equal(seen?.file.size, 1000);
  assert.deepEqual(seen?.file.metadata, { filename: 'take-1.mkv' });

  // Node B declares the length of a deferred upload: node A reads the new value, not its own.
  await nodeB.set('u1', { ...upload('u1', 2048) });
  assert.equal((await nodeA.get('u1'))?.file.size, 2048);

  await nodeA.set('u2', upload('u2', 5));
  assert.deepEqual(await nodeB.list(), ['u1', 'u2']);
  await nodeB.delete('u1');
  assert.equal(await nodeA.get('u1'), undefined, 'completed on B: gone for A too');
  await nodeA.delete('never-there'); // deleting what is not there is not an error
  assert.deepEqual(await nodeA.list(), ['u2']);
});

test('namespaces keep caches apart, and prune drops only entries left alone longer than asked', async (t) => {
  const cache = new PgKvStore<CachedUpload>({ connectionString: server.url, namespace: 'prune:' });
  const other = new PgKvStore<CachedUpload>({ connectionString: server.url, namespace: 'other:' });
  t.after(() => Promise.all([cache.close(), other.close()]));
  await cache.set('old', upload('old', 1));
  await cache.set('fresh', upload('fresh', 1));
  await other.set('old', upload('old', 1));
  assert.deepEqual(await other.list(), ['old']);

  // Age one entry by an hour, as an upload abandoned an hour ago.
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  await client.query(
    `UPDATE streamai_tus_cache SET updated_at = now() - interval '1 hour' WHERE key IN ('prune:old', 'other:old')`,
  );
  await client.end();

  assert.equal(await cache.prune(30 * 60_000), 1, 'only the entry of this namespace older than 30 min');
  assert.deepEqual(await cache.list(), ['fresh']);
  assert.deepEqual(await other.list(), ['old'], 'another namespace is untouched');
});

test('tus sharing follows DATABASE_URL: nothing shared without it, the PostgreSQL locker and cache with it', async (t) => {
  const none = tusSharing<CachedUpload>({ databaseUrl: undefined });
  assert.equal(none.locker, undefined);
  assert.equal(none.cache, undefined);
  assert.equal(await none.prune(0), 0);
  await none.close();

  const a = tusSharing<CachedUpload>({ databaseUrl: server.url, acquireLockTimeoutMs: 2000 });
  const b = tusSharing<CachedUpload>({ databaseUrl: server.url, acquireLockTimeoutMs: 2000 });
  t.after(() => Promise.all([a.close(), b.close()]));
  await a.cache?.set('shared', upload('shared', 3));
  assert.equal((await b.cache?.get('shared'))?.['upload-id'], 'mpu-shared');
  const never = new AbortController().signal;
  const lockA = a.locker?.newLock('u');
  await lockA?.lock(never, async () => lockA.unlock());
  // B's request asks A's holder to let go (NOTIFY) and gets the lock.
  await b.locker?.newLock('u').lock(never, () => undefined);
});

import assert from 'node:assert/strict';
import test, { after } from 'node:test';
import pg from 'pg';
import { PgAdvisoryLocker } from '../../src/cluster/pg-advisory-locker.js';
import { startPostgres } from '../helpers/postgres.js';

const never = new AbortController().signal;
/** One PostgreSQL for the file; each test uses its own upload ids. */
const server = await startPostgres({ after });

test('a tus upload locked on one ingest node is released to another node that asks for it', async () => {
  const nodeA = new PgAdvisoryLocker({ connectionString: server.url });
  const nodeB = new PgAdvisoryLocker({ connectionString: server.url, acquireLockTimeoutMs: 5000 });
  const lockA = nodeA.newLock('upload-1');
  let askedToRelease = 0;
  await lockA.lock(never, async () => {
    askedToRelease += 1;
    await lockA.unlock();
  });
  // Node B waits: the PATCH on A is told to stop (as tus does for a client that reconnects elsewhere).
  await nodeB.newLock('upload-1').lock(never, () => undefined);
  assert.equal(askedToRelease, 1, 'the holder on node A was asked once to let go');
  assert.equal(nodeA.held.has('upload-1'), false);
  assert.equal(nodeB.held.has('upload-1'), true);
  await Promise.all([nodeA.close(), nodeB.close()]);
});

test('a node that dies loses its locks: another node takes the upload without waiting for a timeout', async () => {
  const nodeA = new PgAdvisoryLocker({ connectionString: server.url });
  const nodeB = new PgAdvisoryLocker({ connectionString: server.url, acquireLockTimeoutMs: 5000 });
  await nodeA.newLock('upload-2').lock(never, () => undefined); // never lets go by itself
  await nodeA.close(); // the connection ends, as when the node's process is killed
  await nodeB.newLock('upload-2').lock(never, () => undefined);
  assert.equal(nodeB.held.has('upload-2'), true);
  await nodeB.close();
});

test('two requests on one node are kept apart, and a holder that never lets go makes the other time out', async () => {
  const node = new PgAdvisoryLocker({ connectionString: server.url, acquireLockTimeoutMs: 300 });
  await node.newLock('upload-3').lock(never, () => undefined);
  await assert.rejects(
    node.newLock('upload-3').lock(never, () => undefined),
    (error: { status_code?: number }) => {
      assert.equal(error.status_code, 500); // tus's ERR_LOCK_TIMEOUT
      return true;
    },
  );
  // Other uploads are not affected.
  await node.newLock('upload-4').lock(never, () => undefined);
  await node.close();
});

test('a lock session the database drops: its locks go to others, and the node opens a new session for the next upload', async () => {
  const url = new URL(server.url);
  url.searchParams.set('application_name', 'locker-node-a');
  const nodeA = new PgAdvisoryLocker({ connectionString: url.toString() });
  const nodeB = new PgAdvisoryLocker({ connectionString: server.url, acquireLockTimeoutMs: 5000 });
  const lockA = nodeA.newLock('upload-5');
  await lockA.lock(never, () => undefined);
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  // As a database restart or a failover does to the node's connection.
  await admin.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker-node-a'`,
  );
  await admin.end();
  await nodeB.newLock('upload-5').lock(never, () => undefined);
  assert.equal(nodeB.held.has('upload-5'), true, 'node B took the upload PostgreSQL released');
  await lockA.unlock(); // the request on A ends: nothing to release, no error
  assert.equal(nodeA.held.size, 0);
  await nodeA.newLock('upload-6').lock(never, () => undefined);
  assert.equal(nodeA.held.has('upload-6'), true, 'node A works on a new session');
  await Promise.all([nodeA.close(), nodeB.close()]);
});

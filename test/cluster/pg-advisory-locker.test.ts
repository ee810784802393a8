import assert from 'node:assert/strict';
import test from 'node:test';
import { PgAdvisoryLocker } from '../../src/cluster/pg-advisory-locker.js';
import { startPostgres } from '../helpers/postgres.js';

const never = new AbortController().signal;

test('a tus upload locked on one ingest node is released to another node that asks for it', async (t) => {
  const pg = await startPostgres(t);
  const nodeA = new PgAdvisoryLocker({ connectionString: pg.url });
  const nodeB = new PgAdvisoryLocker({ connectionString: pg.url, acquireLockTimeoutMs: 5000 });
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

test('a node that dies loses its locks: another node takes the upload without waiting for a timeout', async (t) => {
  const pg = await startPostgres(t);
  const nodeA = new PgAdvisoryLocker({ connectionString: pg.url });
  const nodeB = new PgAdvisoryLocker({ connectionString: pg.url, acquireLockTimeoutMs: 5000 });
  await nodeA.newLock('upload-2').lock(never, () => undefined); // never lets go by itself
  await nodeA.close(); // the connection ends, as when the node's process is killed
  await nodeB.newLock('upload-2').lock(never, () => undefined);
  assert.equal(nodeB.held.has('upload-2'), true);
  await nodeB.close();
});

test('two requests on one node are kept apart, and a holder that never lets go makes the other time out', async (t) => {
  const pg = await startPostgres(t);
  const node = new PgAdvisoryLocker({ connectionString: pg.url, acquireLockTimeoutMs: 300 });
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

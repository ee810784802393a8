// PostgreSQL-only properties of the ingest state: what several ingest nodes sharing one
// DATABASE_URL rely on. Each "node" is its own connection pool, as separate processes would be.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { AppError } from '../../src/errors/index.js';
import { freePort } from '../helpers/service-process.js';
import {
  migratePg,
  openIngestState,
  openPgIngestState,
  pgIngestMigrations,
  type BeginReceivingInput,
} from '../../src/store/index.js';
import { pgTestServer } from './ingest-state-backends.js';

const pgServer = pgTestServer();

async function appliedVersions(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations ORDER BY version',
    );
    return rows.map((r) => r.version);
  } finally {
    await client.end();
  }
}

test('migrations: four nodes starting at once apply each version once; starting again applies none', async (t) => {
  const url = await pgServer.freshDatabase();
  const nodes = await Promise.all(Array.from({ length: 4 }, () => openPgIngestState(url)));
  t.after(() => Promise.all(nodes.map((n) => n.close())));
  assert.deepEqual(
    await appliedVersions(url),
    pgIngestMigrations.map((m) => m.version),
  );
  const first = nodes[0]!;
  assert.deepEqual(await migratePg(first.pool, pgIngestMigrations), [], 'nothing left to apply');
  // Every node works on the one schema.
  await first.jobs.enqueue({ taskId: 'j', filePath: '/j', outputDir: '/j-out', steps: [] }, new Date());
  assert.equal((await nodes[3]!.jobs.get('j'))?.state, 'queued');
});

test('migrations: a database newer than this program is refused at start-up, naming DATABASE_URL', async () => {
  const url = await pgServer.freshDatabase();
  const state = await openPgIngestState(url);
  await state.pool.query(
    "INSERT INTO schema_migrations (version, description) VALUES (99, 'from the future')",
  );
  await state.close();
  await assert.rejects(openPgIngestState(url), (error: unknown) => {
    assert.ok(error instanceof AppError);
    assert.match(error.message, /^DATABASE_URL: .*schema version 99 is newer than this program/);
    return true;
  });
});

test('the same task_id arriving at two nodes at once is stored once', async (t) => {
  const url = await pgServer.freshDatabase();
  const a = await openPgIngestState(url);
  const b = await openPgIngestState(url);
  t.after(() => Promise.all([a.close(), b.close()]));
  for (let round = 0; round < 20; round++) {
    const taskId = `same-${round}`;
    const input = (ref: string): BeginReceivingInput => ({
      taskId,
      protocol: 'multipart',
      uploadRef: ref,
      fileName: 'talk.mkv',
      sessionName: null,
      autoProcess: true,
      uploadTime: null,
      declaredSize: null,
      declaredSha256: null,
    });
    const file = (sha: string) => ({
      fileName: 'talk.mkv',
      fileSize: 10,
      sha256: sha,
      filePath: `${taskId}/talk.mkv`,
    });
    const [ra, rb] = await Promise.all([
      a.tasks.markReceived(input('node-a'), file('a'.repeat(64))),
      b.tasks.markReceived(input('node-b'), file('b'.repeat(64))),
    ]);
    assert.equal(Number(ra) + Number(rb), 1, 'exactly one node recorded the file');
    const stored = await a.tasks.get(taskId);
    assert.equal(stored?.sha256, ra ? 'a'.repeat(64) : 'b'.repeat(64), 'the winner is what is stored');
  }
  const { rows } = await a.pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest_tasks');
  assert.equal(Number(rows[0]?.n), 20);
});

test('a queued job claimed by two nodes at once goes to one of them', async (t) => {
  const url = await pgServer.freshDatabase();
  const a = await openPgIngestState(url);
  const b = await openPgIngestState(url);
  t.after(() => Promise.all([a.close(), b.close()]));
  const now = new Date();
  for (let i = 0; i < 10; i++) {
    await a.jobs.enqueue({ taskId: `job-${i}`, filePath: '/f', outputDir: '/o', steps: [] }, now);
  }
  const claimed: string[] = [];
  const claimAll = async (node: typeof a, owner: string): Promise<void> => {
    for (;;) {
      const job = await node.jobs.claimNext({ owner, durationMs: 60_000 }, now);
      if (!job) return;
      claimed.push(job.taskId);
    }
  };
  await Promise.all([
    claimAll(a, 'node-a'),
    claimAll(b, 'node-b'),
    claimAll(a, 'node-a2'),
    claimAll(b, 'node-b2'),
  ]);
  assert.equal(claimed.length, 10, 'every job claimed');
  assert.equal(new Set(claimed).size, 10, 'none claimed twice');
});

test('an unreachable or refused DATABASE_URL stops start-up with one line naming it (no password)', async () => {
  const port = await freePort();
  await assert.rejects(
    openIngestState({
      databaseUrl: `postgres://streamai:s3cret@127.0.0.1:${port}/ingest`,
      dataDir: '/nonexistent',
    }),
    (error: unknown) => {
      assert.ok(error instanceof AppError);
      assert.equal(error.code, 'SERVER_UNREACHABLE');
      assert.match(
        error.message,
        /^DATABASE_URL: cannot use PostgreSQL at postgres:\/\/streamai:\*\*\*@127\.0\.0\.1/,
      );
      assert.match(error.message, /ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cret/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );
  const base = new URL(await pgServer.url());
  base.pathname = '/no_such_database';
  await assert.rejects(
    openIngestState({ databaseUrl: base.toString(), dataDir: '/nonexistent' }),
    /does not exist/,
  );
});

test('a task lock holds across nodes: two completions of one task run one after the other', async (t) => {
  const url = await pgServer.freshDatabase();
  const a = await openPgIngestState(url);
  const b = await openPgIngestState(url);
  t.after(() => Promise.all([a.close(), b.close()]));
  const trace: string[] = [];
  const complete = (node: typeof a, name: string) =>
    node.lockTask('one-task', async () => {
      trace.push(`${name} in`);
      await new Promise((r) => setTimeout(r, 100));
      trace.push(`${name} out`);
    });
  // Another task's lock is a different lock (it completes while one-task is held, or after).
  const other = b.lockTask('other-task', async () => void trace.push('other'));
  await Promise.all([complete(a, 'a'), complete(b, 'b'), other]);
  const ins = trace.filter((s) => s !== 'other');
  assert.ok(trace.includes('other'));
  assert.ok(
    (ins[0] === 'a in' && ins[1] === 'a out') || (ins[0] === 'b in' && ins[1] === 'b out'),
    `never both inside: ${trace.join(', ')}`,
  );
  // A failing holder releases the lock.
  await assert.rejects(
    a.lockTask('one-task', async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.equal(await b.lockTask('one-task', async () => 'free'), 'free');
});

import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';

/** The NOTIFY channel on which a node asks the holder of an upload's lock to let go. */
const RELEASE_CHANNEL = 'streamai_tus_release';
const RETRY_MS = 50;

/** Two signed 32-bit keys for pg_advisory_lock, from the upload id (sha256, so ids never collide by shape). */
function lockKeys(id: string): [number, number] {
  const digest = createHash('sha256').update(`tus:${id}`).digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

export interface PgAdvisoryLockerOptions {
  /** postgres://… shared by every ingest node. */
  connectionString: string;
  /** How long a request waits for a lock before the upload answers 423 (tus's ERR_LOCK_TIMEOUT). */
  acquireLockTimeoutMs?: number;
}

/**
 * A tus Locker that holds across ingest nodes: PostgreSQL session-level advisory locks, held on
 * one dedicated connection per node (so a node that dies loses its locks with its connection —
 * a lease that no one has to expire by hand). Within a node a map keeps two requests apart (a
 * session's advisory locks are re-entrant, so PostgreSQL alone would let both in). A request
 * that finds the lock taken asks the holder to release it — locally by calling its
 * RequestRelease, across nodes by NOTIFY, which every node LISTENs to — then retries, as
 * @tus/server's MemoryLocker does within one process.
 */
export class PgAdvisoryLocker implements Locker {
  private readonly connectionString: string;
  private readonly timeoutMs: number;
  /** Upload ids this node holds, with the release callback of the request holding each. */
  readonly held = new Map<string, RequestRelease>();
  private readonly released = new EventEmitter();
  /** The lock session; replaced by a new one on the next statement once it is lost. */
  private session: { client: pg.Client; ready: Promise<void> } | undefined;
  private closed = false;
  /** Serialises statements on the one lock connection (pg queues them, this keeps the order explicit). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: PgAdvisoryLockerOptions) {
    this.connectionString = options.connectionString;
    this.timeoutMs = options.acquireLockTimeoutMs ?? 30_000;
    this.released.setMaxListeners(0);
  }

  /** Connects the lock session (if none) and listens for release requests. Idempotent. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the tus lock session is closed'));
    if (this.session) return this.session.ready;
    const client = new pg.Client({ connectionString: this.connectionString });
    const lost = (): void => {
      // PostgreSQL released every lock of the session with it: forget them, and let the next
      // statement open a new session (the database restarted, a network cut) instead of failing
      // every upload until the node restarts.
      if (this.session?.client !== client) return;
      this.session = undefined;
      this.held.clear();
    };
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', (message) => {
      if (message.channel !== RELEASE_CHANNEL || message.payload === undefined) return;
      const release = this.held.get(message.payload);
      if (release) void Promise.resolve(release()).catch(() => undefined);
    });
    const ready = (async () => {
      await client.connect();
      await client.query(`LISTEN ${RELEASE_CHANNEL}`);
    })();
    ready.catch(() => {
      lost();
      void client.end().catch(() => undefined);
    });
    this.session = { client, ready };
    return ready;
  }

  /** Ends the lock session: every lock this node holds is released by PostgreSQL. */
  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return;
    await session.ready.catch(() => undefined);
    await session.client.end().catch(() => undefined);
  }

  newLock(id: string): Lock {
    return new PgAdvisoryLock(id, this);
  }

  /** @internal one statement on the lock session, in order. */
  query<T extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<T>> {
    const once = async (): Promise<pg.QueryResult<T>> => {
      await this.start();
      const session = this.session;
      if (session === undefined) throw new Error('the tus lock session was lost');
      try {
        return await session.client.query<T>(sql, values);
      } catch (error) {
        // These statements cannot fail on a working session: the session died under it (its
        // locks are gone with it, whether or not its 'error' event came yet), so it is dropped
        // and the statement runs once more on a new session, where it means the same.
        if (this.closed) throw error;
        if (this.session === session) {
          this.session = undefined;
          this.held.clear();
          void session.client.end().catch(() => undefined);
        }
        await this.start();
        const next = this.session as { client: pg.Client } | undefined;
        if (next === undefined) throw error;
        return await next.client.query<T>(sql, values);
      }
    };
    const run = this.chain.then(once);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** @internal resolves when a local holder of `id` unlocks (or after `ms`). */
  waitForRelease(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.released.once(id, done);
    });
  }

  /** @internal */
  notifyReleased(id: string): void {
    this.released.emit(id);
  }

  /** @internal */
  get acquireTimeoutMs(): number {
    return this.timeoutMs;
  }
}

class PgAdvisoryLock implements Lock {
  constructor(
    private readonly id: string,
    private readonly locker: PgAdvisoryLocker,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.locker.acquireTimeoutMs;
    const [k1, k2] = lockKeys(this.id);
    let asked = false;
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      const localHolder = this.locker.held.get(this.id);
      if (localHolder === undefined) {
        const result = await this.locker.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock($1, $2) AS locked',
          [k1, k2],
        );
        // Another request of this node may have taken it while the query ran.
        if (result.rows[0]?.locked === true && !this.locker.held.has(this.id)) {
          this.locker.held.set(this.id, requestRelease);
          return;
        }
        if (result.rows[0]?.locked === true) {
          // Re-entrant acquisition on our own session: undo the extra count.
          await this.locker.query('SELECT pg_advisory_unlock($1, $2)', [k1, k2]);
        } else if (!asked) {
          await this.locker.query('SELECT pg_notify($1, $2)', [RELEASE_CHANNEL, this.id]);
          asked = true;
        }
      } else if (!asked) {
        await localHolder();
        asked = true;
      }
      if (Date.now() > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await this.locker.waitForRelease(this.id, RETRY_MS);
    }
  }

  async unlock(): Promise<void> {
    // Not held: the lock session was lost while the request ran (PostgreSQL released it then).
    if (!this.locker.held.has(this.id)) return;
    const [k1, k2] = lockKeys(this.id);
    this.locker.held.delete(this.id);
    await this.locker.query('SELECT pg_advisory_unlock($1, $2)', [k1, k2]);
    this.locker.notifyReleased(this.id);
  }
}

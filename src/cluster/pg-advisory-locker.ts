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
  private readonly client: pg.Client;
  private readonly timeoutMs: number;
  /** Upload ids this node holds, with the release callback of the request holding each. */
  readonly held = new Map<string, RequestRelease>();
  private readonly released = new EventEmitter();
  private ready: Promise<void> | undefined;
  /** Serialises statements on the one lock connection (pg queues them, this keeps the order explicit). */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(options: PgAdvisoryLockerOptions) {
    this.client = new pg.Client({ connectionString: options.connectionString });
    this.timeoutMs = options.acquireLockTimeoutMs ?? 30_000;
    this.released.setMaxListeners(0);
    // A lost lock session means PostgreSQL already released this node's locks; the next
    // statement fails and the request answers an error instead of the process crashing.
    this.client.on('error', () => this.held.clear());
  }

  /** Connects the lock session and starts listening for release requests. Idempotent. */
  start(): Promise<void> {
    this.ready ??= (async () => {
      await this.client.connect();
      this.client.on('notification', (message) => {
        if (message.channel !== RELEASE_CHANNEL || message.payload === undefined) return;
        const release = this.held.get(message.payload);
        if (release) void Promise.resolve(release()).catch(() => undefined);
      });
      await this.client.query(`LISTEN ${RELEASE_CHANNEL}`);
    })();
    return this.ready;
  }

  /** Ends the lock session: every lock this node holds is released by PostgreSQL. */
  async close(): Promise<void> {
    if (this.ready === undefined) return;
    await this.ready.catch(() => undefined);
    await this.client.end();
  }

  newLock(id: string): Lock {
    return new PgAdvisoryLock(id, this);
  }

  /** @internal one statement on the lock session, in order. */
  query<T extends pg.QueryResultRow>(sql: string, values: unknown[]): Promise<pg.QueryResult<T>> {
    const run = this.chain.then(async () => {
      await this.start();
      return await this.client.query<T>(sql, values);
    });
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
    if (!this.locker.held.has(this.id)) throw new Error('Releasing an unlocked lock!');
    const [k1, k2] = lockKeys(this.id);
    this.locker.held.delete(this.id);
    await this.locker.query('SELECT pg_advisory_unlock($1, $2)', [k1, k2]);
    this.locker.notifyReleased(this.id);
  }
}

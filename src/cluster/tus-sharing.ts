import type { KvStore, Locker } from '@tus/utils';
import { PgAdvisoryLocker } from './pg-advisory-locker.js';
import { PgKvStore } from './pg-kv-store.js';

/** What the tus server of an ingest node shares with the other nodes. */
export interface TusSharing<T> {
  /** The upload lock across nodes; undefined: @tus/server's in-memory locker (one node). */
  locker: Locker | undefined;
  /** Upload metadata for @tus/s3-store's `cache`; undefined: its in-memory cache (one node). */
  cache: KvStore<T> | undefined;
  /** Drops cache entries of uploads abandoned longer than `olderThanMs` ago; 0 without a cache. */
  prune(olderThanMs: number): Promise<number>;
  /** Ends the lock session (PostgreSQL releases this node's locks) and the cache pool. */
  close(): Promise<void>;
}

export interface TusSharingOptions {
  /** DATABASE_URL; undefined: a single node, nothing shared. */
  databaseUrl: string | undefined;
  /** How long a request waits for an upload's lock before it answers tus's lock timeout. */
  acquireLockTimeoutMs?: number;
}

/**
 * The tus pieces several ingest nodes need, from the configuration present: with DATABASE_URL
 * (which every node of a cluster has — it is where their state is) the PostgreSQL advisory-lock
 * Locker and the PostgreSQL KvStore; without it, nothing (the defaults of one process). Both
 * connect lazily, so a node starts even while the database is briefly away.
 */
export function tusSharing<T>(options: TusSharingOptions): TusSharing<T> {
  if (options.databaseUrl === undefined) {
    return { locker: undefined, cache: undefined, prune: async () => 0, close: async () => undefined };
  }
  const locker = new PgAdvisoryLocker({
    connectionString: options.databaseUrl,
    ...(options.acquireLockTimeoutMs === undefined
      ? {}
      : { acquireLockTimeoutMs: options.acquireLockTimeoutMs }),
  });
  const cache = new PgKvStore<T>({ connectionString: options.databaseUrl, namespace: 'tus-s3:' });
  return {
    locker,
    cache,
    prune: (olderThanMs) => cache.prune(olderThanMs),
    close: async () => {
      await Promise.allSettled([locker.close(), cache.close()]);
    },
  };
}

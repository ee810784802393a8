import path from 'node:path';
import { after, type TestContext } from 'node:test';
import pg from 'pg';
import {
  ingestMigrations,
  openDatabase,
  openPgIngestState,
  sqliteIngestState,
  type IngestState,
} from '../../src/store/index.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { tempDir } from '../helpers/temp-dir.js';

/** One backend of the ingest state, opened fresh (empty) for each test. */
export interface StateBackend {
  name: 'SQLite' | 'PostgreSQL';
  open(t: TestContext): Promise<IngestState>;
}

/**
 * One PostgreSQL server for a whole test file: call at the file's top level. Started on first
 * use and stopped after the file's last test; `freshDatabase()` makes a new empty database on
 * it and returns its URL.
 */
export function pgTestServer(): { freshDatabase(): Promise<string>; url(): Promise<string> } {
  // startPostgres registers its stop with `after`; here that is the file's, not one test's.
  const stops: Array<() => unknown> = [];
  after(async () => {
    for (const stop of stops) await stop();
  });
  let server: Promise<PostgresServer> | undefined;
  let count = 0;
  const url = async (): Promise<string> =>
    (await (server ??= startPostgres({ after: (fn) => void (fn && stops.push(fn as () => unknown)) }))).url;
  return {
    url,
    freshDatabase: async () => {
      const base = await url();
      const name = `ingest_${++count}`;
      const admin = new pg.Client({ connectionString: base });
      await admin.connect();
      try {
        // FILE_COPY: copying the small template is quicker than WAL-logging it (the default since 15).
        await admin.query(`CREATE DATABASE ${name} STRATEGY FILE_COPY`);
      } finally {
        await admin.end();
      }
      const u = new URL(base);
      u.pathname = `/${name}`;
      return u.toString();
    },
  };
}

/** Both backends; the PostgreSQL one on `pgServer` (see pgTestServer). */
export function stateBackends(pgServer: ReturnType<typeof pgTestServer>): StateBackend[] {
  return [
    {
      name: 'SQLite',
      open: async (t) => {
        const db = openDatabase(path.join(await tempDir(t), 'ingest.db'), ingestMigrations);
        const state = sqliteIngestState(db, true);
        t.after(() => state.close());
        return state;
      },
    },
    {
      name: 'PostgreSQL',
      open: async (t) => {
        const state = await openPgIngestState(await pgServer.freshDatabase());
        t.after(() => state.close());
        return state;
      },
    },
  ];
}

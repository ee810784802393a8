import path from 'node:path';
import { openPgIngestState } from './pg-ingest-state.js';
import { openSqliteIngestState } from './sqlite-ingest-state.js';
import type { IngestState } from './types.js';

export interface OpenIngestStateOptions {
  /** DATABASE_URL (postgres://…); undefined: SQLite at `<dataDir>/ingest.db`. */
  databaseUrl: string | undefined;
  dataDir: string;
}

/** Opens the ingest state where the configuration says: PostgreSQL when DATABASE_URL is set, else SQLite. */
export async function openIngestState(options: OpenIngestStateOptions): Promise<IngestState> {
  if (options.databaseUrl === undefined) return openSqliteIngestState(path.resolve(options.dataDir));
  return openPgIngestState(options.databaseUrl);
}

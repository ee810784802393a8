import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** One schema step. Versions start at 1 and only ever grow; a shipped migration is never edited. */
export interface Migration {
  version: number;
  description: string;
  up: (db: Db) => void;
}

/**
 * Opens (creating if needed) a SQLite database in WAL mode and brings its schema up to date.
 * The schema version lives in `PRAGMA user_version`; each migration runs in its own transaction.
 */
export function openDatabase(file: string, migrations: readonly Migration[]): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db, migrations);
  return db;
}

export function migrate(db: Db, migrations: readonly Migration[]): void {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`migrations must be numbered 1..n without gaps (found ${m.version})`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > sorted.length) {
    throw new Error(`database schema version ${current} is newer than this program (${sorted.length})`);
  }
  for (const m of sorted.slice(current)) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

import type { Migration } from '../open-database.js';

/**
 * Station v8 (page branch; renumbered from v7 on merge: v7 is the object-storage journal): the full-text index
 * of processed transcripts (src/station/transcript-index.ts). One FTS5 row per transcript line
 * (subtitle cue); `transcript_tasks` says which tasks are indexed, so a task is re-indexed
 * as a whole (delete + insert in one transaction), never half.
 */
export const stationV8Transcripts: Migration = {
  version: 8,
  description: 'full-text index of transcripts',
  up: (db) => {
    db.exec(`
      CREATE TABLE transcript_tasks (
        task_id    TEXT PRIMARY KEY,
        language   TEXT NOT NULL,
        lines      INTEGER NOT NULL,
        indexed_at TEXT NOT NULL
      );
      -- unicode61 with diacritics removed: "reunion" finds "réunion".
      CREATE VIRTUAL TABLE transcript_lines USING fts5(
        text,
        task_id UNINDEXED,
        start UNINDEXED,
        end UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2'
      );
    `);
  },
};

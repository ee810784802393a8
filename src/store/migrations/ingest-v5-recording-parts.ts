import type { Migration } from '../open-database.js';

/**
 * Ingest v5: segmented recordings (issue 11). A recording uploaded while it is recorded is one
 * task T (a parent row, `receiving` until its parts are joined) and one row per part, whose
 * task id is `<T>.part-<index>` with `part_of` = T and `part_index` = the segment index; a part
 * is an ordinary verified upload kept under `.parts/`. `parts_expected` is set on the parent
 * once the last part told the count; `recording_id` is the station's recording id.
 */
export const ingestV5RecordingParts: Migration = {
  version: 5,
  description: 'recording parts',
  up: (db) => {
    db.exec(`
      ALTER TABLE ingest_tasks ADD COLUMN part_of TEXT;
      ALTER TABLE ingest_tasks ADD COLUMN part_index INTEGER;
      ALTER TABLE ingest_tasks ADD COLUMN parts_expected INTEGER;
      ALTER TABLE ingest_tasks ADD COLUMN recording_id TEXT;
      CREATE INDEX ingest_tasks_by_part_of ON ingest_tasks (part_of, part_index);
    `);
  },
};

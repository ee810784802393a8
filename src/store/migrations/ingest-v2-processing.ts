import type { Migration } from '../open-database.js';

/** Ingest v2: processing jobs and their steps. */
export const ingestV2Processing: Migration = {
  version: 2,
  description: 'processing jobs',
  up: () => {
    // Placeholder until the processing jobs tables are written (see the owning issue); replace, then never edit once shipped.
  },
};

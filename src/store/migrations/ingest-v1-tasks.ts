import type { Migration } from '../open-database.js';

/** Ingest v1: upload tasks received by the ingest server. */
export const ingestV1Tasks: Migration = {
  version: 1,
  description: 'ingest tasks',
  up: () => {
    // Placeholder until the ingest tasks tables are written (see the owning issue); replace, then never edit once shipped.
  },
};

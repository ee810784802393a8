import type { Migration } from '../open-database.js';

/** Station v1: upload tasks of the upload service. */
export const stationV1UploadTasks: Migration = {
  version: 1,
  description: 'upload tasks',
  up: () => {
    // Placeholder until the upload tasks tables are written (see the owning issue); replace, then never edit once shipped.
  },
};

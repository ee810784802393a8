import type { Migration } from '../open-database.js';

/** Station v2: recording sessions and their recordings. */
export const stationV2Sessions: Migration = {
  version: 2,
  description: 'sessions',
  up: () => {
    // Placeholder until the sessions tables are written (see the owning issue); replace, then never edit once shipped.
  },
};

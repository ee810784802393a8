import type { Migration } from '../open-database.js';

/**
 * Station v11 (issue 11, Stop to verified in seconds): the part a recording is writing is sent
 * while it grows (a tus upload of deferred length; the recorder writes it append-only). Its
 * index and tus URL are kept on the recording's task from the moment the upload exists — before
 * the part is closed and has a row of its own — so a station killed mid-part resumes that upload
 * from the server's offset instead of sending the part again.
 */
export const stationV11OpenPart: Migration = {
  version: 11,
  description: 'the tus upload of the part a recording is writing',
  up: (db) => {
    db.exec(`
      ALTER TABLE upload_task_recordings ADD COLUMN open_part_index INTEGER;
      ALTER TABLE upload_task_recordings ADD COLUMN open_part_url TEXT;
    `);
  },
};

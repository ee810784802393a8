import type { Migration } from '../open-database.js';

/**
 * Station v4: how the server confirmed a completed upload (`verified_by`): `sha256` when it
 * reported the same digest; `size` when a server of the original's kind accepted it with the
 * same size and reports no checksum; `none` when it reported neither. The history, CLI and
 * page say "sha256 … confirmed by the server" only for `sha256`.
 */
export const stationV4UploadVerification: Migration = {
  version: 4,
  description: 'how the server confirmed an upload',
  up: (db) => {
    db.exec(`ALTER TABLE upload_tasks ADD COLUMN verified_by TEXT;`);
  },
};

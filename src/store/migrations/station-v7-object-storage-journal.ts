import type { Migration } from '../open-database.js';

/**
 * Station v7 (object storage, issue 12): the journal of the resumable S3 multipart uploader.
 * One row per task that writes into a bucket: the bucket, key and UploadId (saved before the
 * first part is sent, so a crash never leaves an upload the station does not know about), the
 * part size chosen, and where it stands; one row per part the bucket confirmed, with its size,
 * ETag and MD5, so that a resumed upload sends only what is missing and completes from here.
 * No foreign key to upload_tasks: the journal serves any writer of the station's database
 * (a check, a benchmark), and the uploader removes its rows itself.
 */
export const stationV7ObjectStorageJournal: Migration = {
  version: 7,
  description: 'object storage multipart journal',
  up: (db) => {
    db.exec(`
      CREATE TABLE s3_uploads (
        task_id      TEXT PRIMARY KEY,
        bucket       TEXT NOT NULL,
        object_key   TEXT NOT NULL,
        upload_id    TEXT NOT NULL,
        part_size    INTEGER NOT NULL,
        -- The content the parts were cut from: a different file cannot resume this upload.
        size         INTEGER NOT NULL,
        sha256       TEXT NOT NULL,
        -- uploading → completed (object verified, manifest written)
        state        TEXT NOT NULL CHECK (state IN ('uploading', 'completed')),
        etag         TEXT,
        -- 'etag': the bucket's multipart ETag equals ours; 'read-back': it computes ETags
        -- otherwise, so the object was read back once and its sha256 compared.
        verified_by  TEXT CHECK (verified_by IN ('etag', 'read-back')),
        manifest_key TEXT,
        created_at   TEXT NOT NULL,
        completed_at TEXT
      );
      CREATE INDEX s3_uploads_by_upload_id ON s3_uploads (upload_id);
      CREATE TABLE s3_upload_parts (
        task_id     TEXT NOT NULL REFERENCES s3_uploads (task_id) ON DELETE CASCADE,
        part_number INTEGER NOT NULL,
        size        INTEGER NOT NULL,
        etag        TEXT NOT NULL,
        md5         TEXT NOT NULL,
        PRIMARY KEY (task_id, part_number)
      );
    `);
  },
};

import type { Db } from './open-database.js';

/** One S3 multipart upload of a task, as the journal holds it (see station-v7). */
export interface S3UploadRecord {
  taskId: string;
  bucket: string;
  key: string;
  uploadId: string;
  partSize: number;
  size: number;
  sha256: string;
  state: 'uploading' | 'completed';
  etag: string | null;
  verifiedBy: 'etag' | 'read-back' | null;
  manifestKey: string | null;
  createdAt: string;
  completedAt: string | null;
}

/** One part of it the bucket confirmed. */
export interface S3UploadPartRecord {
  partNumber: number;
  size: number;
  etag: string;
  md5: string;
}

interface UploadRow {
  task_id: string;
  bucket: string;
  object_key: string;
  upload_id: string;
  part_size: number;
  size: number;
  sha256: string;
  state: string;
  etag: string | null;
  verified_by: string | null;
  manifest_key: string | null;
  created_at: string;
  completed_at: string | null;
}

interface PartRow {
  part_number: number;
  size: number;
  etag: string;
  md5: string;
}

/** Values read back are checked, not trusted: a row another version wrote reads as unknown. */
function fromRow(row: UploadRow): S3UploadRecord {
  return {
    taskId: row.task_id,
    bucket: row.bucket,
    key: row.object_key,
    uploadId: row.upload_id,
    partSize: row.part_size,
    size: row.size,
    sha256: row.sha256,
    state: row.state === 'completed' ? 'completed' : 'uploading',
    etag: row.etag,
    verifiedBy: row.verified_by === 'etag' || row.verified_by === 'read-back' ? row.verified_by : null,
    manifestKey: row.manifest_key,
    createdAt: row.created_at,
    completedAt: row.completed_at,
  };
}

/**
 * The S3 multipart journal in the station's database (the object-storage part's
 * `MultipartJournal`). Each write is its own statement or transaction, durable on return.
 */
export class S3UploadJournalRepository {
  constructor(private readonly db: Db) {}

  find(taskId: string): { upload: S3UploadRecord; parts: S3UploadPartRecord[] } | undefined {
    const row = this.db.prepare('SELECT * FROM s3_uploads WHERE task_id = ?').get(taskId) as
      UploadRow | undefined;
    if (!row) return undefined;
    const parts = this.db
      .prepare(
        'SELECT part_number, size, etag, md5 FROM s3_upload_parts WHERE task_id = ? ORDER BY part_number',
      )
      .all(taskId) as PartRow[];
    return {
      upload: fromRow(row),
      parts: parts.map((p) => ({ partNumber: p.part_number, size: p.size, etag: p.etag, md5: p.md5 })),
    };
  }

  begin(upload: Omit<S3UploadRecord, 'state' | 'etag' | 'verifiedBy' | 'manifestKey' | 'completedAt'>): void {
    this.db.transaction(() => {
      this.discard(upload.taskId);
      this.db
        .prepare(
          `INSERT INTO s3_uploads (task_id, bucket, object_key, upload_id, part_size, size, sha256, state, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, 'uploading', ?)`,
        )
        .run(
          upload.taskId,
          upload.bucket,
          upload.key,
          upload.uploadId,
          upload.partSize,
          upload.size,
          upload.sha256,
          upload.createdAt,
        );
    })();
  }

  recordPart(taskId: string, part: S3UploadPartRecord): void {
    this.db
      .prepare(
        `INSERT INTO s3_upload_parts (task_id, part_number, size, etag, md5) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (task_id, part_number) DO UPDATE SET size = excluded.size, etag = excluded.etag, md5 = excluded.md5`,
      )
      .run(taskId, part.partNumber, part.size, part.etag, part.md5);
  }

  forgetPart(taskId: string, partNumber: number): void {
    this.db
      .prepare('DELETE FROM s3_upload_parts WHERE task_id = ? AND part_number = ?')
      .run(taskId, partNumber);
  }

  complete(
    taskId: string,
    result: { etag: string; verifiedBy: 'etag' | 'read-back'; manifestKey: string; completedAt: string },
  ): void {
    this.db
      .prepare(
        `UPDATE s3_uploads SET state = 'completed', etag = ?, verified_by = ?, manifest_key = ?, completed_at = ?
         WHERE task_id = ?`,
      )
      .run(result.etag, result.verifiedBy, result.manifestKey, result.completedAt, taskId);
  }

  taskOfUpload(uploadId: string): string | undefined {
    const row = this.db.prepare('SELECT task_id FROM s3_uploads WHERE upload_id = ?').get(uploadId) as
      { task_id: string } | undefined;
    return row?.task_id;
  }

  discard(taskId: string): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM s3_upload_parts WHERE task_id = ?').run(taskId);
      this.db.prepare('DELETE FROM s3_uploads WHERE task_id = ?').run(taskId);
    })();
  }
}

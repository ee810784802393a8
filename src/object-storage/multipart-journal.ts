import type { S3UploadPartRecord, S3UploadRecord } from '../store/index.js';

/** A multipart upload the journal knows: where it goes, what it was cut from, how it ended. */
export type JournalUpload = S3UploadRecord;

/** One part the bucket confirmed: its number (1-based), size, ETag as answered, and MD5 (hex). */
export type JournalPart = S3UploadPartRecord;

/**
 * What the resumable uploader remembers across crashes (rclone/restic's lesson: resume from a
 * journal of what the other side confirmed, never from memory). The station keeps it in its
 * SQLite database (`S3UploadJournalRepository` in src/store); anything else with the same
 * methods will do. Every method is synchronous and durable when it returns.
 */
export interface MultipartJournal {
  find(taskId: string): { upload: JournalUpload; parts: JournalPart[] } | undefined;
  /** Saves a new UploadId (replacing any earlier upload of the task) before a part is sent. */
  begin(upload: Omit<JournalUpload, 'state' | 'etag' | 'verifiedBy' | 'manifestKey' | 'completedAt'>): void;
  recordPart(taskId: string, part: JournalPart): void;
  forgetPart(taskId: string, partNumber: number): void;
  /** The object is complete and verified; its manifest is written. */
  complete(
    taskId: string,
    result: { etag: string; verifiedBy: 'etag' | 'read-back'; manifestKey: string; completedAt: string },
  ): void;
  /** The task whose multipart upload this is, if the journal knows it. */
  taskOfUpload(uploadId: string): string | undefined;
  /** Forgets the task's upload and parts (after an abort, or to start over). */
  discard(taskId: string): void;
}

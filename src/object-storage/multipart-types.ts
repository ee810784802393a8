/** The resumable multipart uploader's options, jobs and results (see multipart-uploader.ts). */

/**
 * Streams bytes [start, end) of a file as a request body, at the shared rate limit (uploads'
 * `fileBody` with its RateLimiter).
 */
export type RangeBody = (
  filePath: string,
  start: number,
  end: number,
  hooks: {
    buffers: Buffer[];
    onPull?: () => void;
    signal: AbortSignal;
    onBytes: (bytes: number) => void;
  },
) => AsyncIterable<Uint8Array>;

/** A per-request stall watchdog (uploads' `StallWatchdog`): aborts `controller` on a stall. */
export type WatchdogFactory = (controller: AbortController) => {
  touch(): void;
  bodyDone(): void;
  stop(): void;
};

export interface MultipartUploaderOptions {
  bucket: string;
  /** Preferred part size (grown to fit 10,000 parts). */
  partSizeBytes: number;
  /** Parts in flight at once. */
  concurrency: number;
  watchdog: WatchdogFactory;
  body: RangeBody;
}

export interface MultipartUploadJob {
  taskId: string;
  filePath: string;
  size: number;
  /**
   * The file's sha256 when an earlier attempt computed it, else null. Either way the upload
   * reads the file once before the first part (sha256 and every part's MD5 in the same pass);
   * a known digest that differs from the file's is FILE_CHANGED.
   */
  sha256: string | null;
  key: string;
  contentType: string;
  /** x-amz-meta-* (ASCII values); `sha256` is always added. */
  metadata: Record<string, string>;
  signal: AbortSignal;
  /** Awaited before CompleteMultipartUpload (the file must have stopped growing); rejects to stop. */
  beforeComplete?: () => Promise<void>;
  /** The file was hashed (before the first part): its sha256. */
  onDigest?: (sha256: string) => void;
  /** This many more bytes were handed to a connection. */
  onBytes: (bytes: number) => void;
  /** The parts the bucket confirmed hold this many bytes in all. */
  onConfirmed: (bytes: number) => void;
  /** The bucket confirmed a part: `confirmed` of `count` parts are there. */
  onParts?: (confirmed: number, count: number) => void;
  /** A new multipart upload was created (its UploadId is already in the journal). */
  onUploadId?: (uploadId: string) => void;
  /** A line for the task's history (resume summary, a part sent again, …). */
  note?: (message: string) => void;
}

export interface MultipartUploadResult {
  bucket: string;
  key: string;
  etag: string;
  /** The file's sha256 (x-amz-meta-sha256 on the object). */
  sha256: string;
  /** 'etag': the bucket's multipart ETag equals ours; 'read-back': the object was read back. */
  verifiedBy: 'etag' | 'read-back';
  partSize: number;
  partCount: number;
  /** Part requests sent by this call (a part sent again after BadDigest counts twice). */
  partsSent: number;
  /** Parts already in the bucket that this call did not send. */
  partsReused: number;
}

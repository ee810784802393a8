/** What a transport needs to send one task's file; the service persists what the hooks report. */
export interface TransportJob {
  taskId: string;
  /** The file to send (the original, or its compressed copy). */
  filePath: string;
  /** The name the server records (the original file's name). */
  fileName: string;
  size: number;
  /**
   * The file's digest when an earlier attempt already computed it (declared to the server at
   * creation), else null: the transport computes it on the bytes as it sends them.
   */
  sha256: string | null;
  sessionName: string | null;
  autoProcess: boolean;
  /** The station's recording, when the task is one (the S3 manifest names it). */
  recordingId?: string | null;
  /**
   * Set when the file is one part of a segmented recording (CONTRACTS.md "Segmented
   * recordings"): sent with `task_id` = the recording's task, `recording_id`, `segment_index`,
   * `segment_count` (the last part only) and `recording_file_name`; the server keeps it under
   * `statusId` (`<task>.part-<index>`), which is what its /status is asked about.
   */
  part?: TransportPart;
  /** A resumable upload's URL from an earlier attempt or process (tus), else null. */
  remoteUrl: string | null;
  signal: AbortSignal;
  /**
   * Awaited before the step that completes the upload on the server (tus: the last PATCH;
   * multipart: the end of the body); rejects (FILE_STILL_GROWING) to abort instead, so a file
   * still being written is never complete on the server. Absent: nothing to wait for.
   */
  beforeComplete?: () => Promise<void>;
  /** A resumable upload was created: persist its URL before any byte is sent. */
  onRemoteUrl: (url: string | null) => void;
  /** The server holds this many bytes (tus offsets; multipart reports 0 at each start). */
  onConfirmed: (bytes: number) => void;
  /** This many more bytes were handed to the connection (progress between confirmations). */
  onBytes: (bytes: number) => void;
  /** A line for the task's history (e.g. how much of a multipart upload a resume found). */
  onNote?: (message: string) => void;
}

/** What a part upload declares besides the task's fields (see `TransportJob.part`). */
export interface TransportPart {
  index: number;
  /** The recording's part count, sent on the last part only; null on the others. */
  count: number | null;
  recordingFileName: string;
  /** The id the server stores the part under: `<task>.part-<index>`. */
  statusId: string;
  /**
   * The last part already went out before the count was known: send it again with the count
   * (the server keeps one copy) instead of taking the server's copy as the end.
   */
  resend: boolean;
}

/** The form fields / tus metadata a part adds (strings; absent ones null). */
export function partFields(job: Pick<TransportJob, 'part' | 'recordingId'>): Record<string, string | null> {
  const part = job.part;
  if (!part) return {};
  return {
    recording_id: job.recordingId ?? null,
    segment_index: String(part.index),
    segment_count: part.count === null ? null : String(part.count),
    recording_file_name: part.recordingFileName,
  };
}

/** The id to ask the server's /status about for a job: the part's own, or the task's. */
export function statusIdOf(job: Pick<TransportJob, 'part' | 'taskId'>): string {
  return job.part?.statusId ?? job.taskId;
}

/** An object a transport wrote into a bucket (S3): what session_metadata.json records. */
export interface StoredObject {
  bucket: string;
  key: string;
  etag: string;
  /** The JSON manifest written beside it. */
  manifestKey: string;
  /** 'etag': the multipart ETag matched ours; 'read-back': read back once, sha256 compared. */
  verifiedBy: 'etag' | 'read-back';
}

/** What the server said when the last byte arrived. */
export interface TransportResult {
  /** The sha256 of the whole file as this side sent it (computed while sending). */
  sha256: string;
  /** The digest the server computed, when its answer carries one. */
  serverSha256: string | null;
  /** The history line for completion when the transport verified the upload itself (S3). */
  confirmation?: string;
  /** Set by the S3 transport. */
  object?: StoredObject;
  /**
   * True when the server's answer reported the size it stored and that size is the file's
   * (a server of the original's kind answers `size` but no digest).
   */
  sizeConfirmed?: boolean;
}

/** One way to get a file to the server: tus 1.0 or a multipart POST; or into a bucket (S3). */
export interface Transport {
  readonly protocol: 'tus' | 'multipart' | 's3';
  upload(job: TransportJob): Promise<TransportResult>;
  /** Frees what the server holds for an abandoned upload (best effort). */
  terminate(remoteUrl: string): Promise<void>;
}

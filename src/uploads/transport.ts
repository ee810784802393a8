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
  /** A resumable upload's URL from an earlier attempt or process (tus), else null. */
  remoteUrl: string | null;
  signal: AbortSignal;
  /** A resumable upload was created: persist its URL before any byte is sent. */
  onRemoteUrl: (url: string | null) => void;
  /** The server holds this many bytes (tus offsets; multipart reports 0 at each start). */
  onConfirmed: (bytes: number) => void;
  /** This many more bytes were handed to the connection (progress between confirmations). */
  onBytes: (bytes: number) => void;
}

/** What the server said when the last byte arrived. */
export interface TransportResult {
  /** The sha256 of the whole file as this side sent it (computed while sending). */
  sha256: string;
  /** The digest the server computed, when its answer carries one. */
  serverSha256: string | null;
  /**
   * True when the server's answer reported the size it stored and that size is the file's
   * (a server of the original's kind answers `size` but no digest).
   */
  sizeConfirmed?: boolean;
}

/** One way to get a file to the server: tus 1.0 or a multipart POST. */
export interface Transport {
  readonly protocol: 'tus' | 'multipart';
  upload(job: TransportJob): Promise<TransportResult>;
  /** Frees what the server holds for an abandoned upload (best effort). */
  terminate(remoteUrl: string): Promise<void>;
}

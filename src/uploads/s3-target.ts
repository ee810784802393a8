import type { Logger } from '../logging/index.js';
import type { Db, S3UploadRecord } from '../store/index.js';
import { S3ProcessRequestRepository } from '../store/s3-process-request-repository.js';
import { S3UploadJournalRepository } from '../store/s3-upload-journal-repository.js';
// object-keys.ts, not the part's index: the index loads the AWS SDK, which this file must not.
import { recordingKey } from '../object-storage/object-keys.js';
import { processingStartOf, S3ProcessingStarter, type S3ProcessingOptions } from './s3-processing.js';
import { parseS3Target, type S3TaskState } from './s3-task-target.js';
import type { S3Transport, S3TransportOptions } from './s3-transport.js';
import type { StoredObject } from './transport.js';
import type { UploadTask } from './upload-types.js';

/** The object a completed S3 task wrote (bucket, key, ETag, manifest), from the journal. */
export function storedObjectOf(journal: S3UploadJournalRepository, taskId: string): StoredObject | undefined {
  return objectOf(journal.find(taskId)?.upload);
}

function objectOf(upload: S3UploadRecord | undefined): StoredObject | undefined {
  if (upload?.state !== 'completed' || upload.etag === null || upload.manifestKey === null) return undefined;
  return {
    bucket: upload.bucket,
    key: upload.key,
    etag: upload.etag,
    manifestKey: upload.manifestKey,
    verifiedBy: upload.verifiedBy ?? 'read-back',
  };
}

/**
 * The task with its `s3` state (bucket, key, parts in the bucket, processing start) when it is
 * an S3 task, and its `object` once completed; other tasks as they are. Reads the journal only
 * (no AWS SDK).
 */
export function withS3State<T extends UploadTask | undefined>(
  journal: S3UploadJournalRepository,
  requests: S3ProcessRequestRepository,
  task: T,
): T {
  if (task === undefined) return task;
  const target = task.target?.protocol === 's3' ? task.target : undefined;
  if (task.protocol !== 's3' && !target) return task;
  const found = journal.find(task.id);
  const upload = found?.upload;
  const object = task.state === 'completed' ? objectOf(upload) : undefined;
  const recorded = target ? parseS3Target(target.url) : undefined;
  const place = upload ?? recorded;
  if (!place) return object ? { ...task, object } : task;
  const partCount = upload ? Math.max(1, Math.ceil(upload.size / upload.partSize)) : null;
  const s3: S3TaskState = {
    bucket: place.bucket,
    key: upload?.key ?? recordingKey(recorded?.prefix ?? '', task.id, task.fileName),
    endpoint: target?.endpoint ?? null,
    uploadId: upload?.state === 'uploading' ? upload.uploadId : null,
    partsInBucket: upload?.state === 'completed' ? (partCount ?? 0) : (found?.parts.length ?? 0),
    partCount,
    processing: processingStartOf(requests.get(task.id)),
  };
  return { ...task, ...(object ? { object } : {}), s3 };
}

/** `withS3State` for readers without an upload service (the CLI's upload-status). */
export function withStoredObject<T extends UploadTask | undefined>(db: Db, task: T): T {
  return withS3State(new S3UploadJournalRepository(db), new S3ProcessRequestRepository(db), task);
}

/**
 * UPLOAD_TARGET=s3 as the upload service holds it. The S3 transport (and with it the AWS SDK,
 * ~22 MiB and half a second to load) is imported on first use, so a station or a
 * `streamai upload` that sends to a server never loads it; what the service needs at once —
 * a completed task's object — is read from the journal without the SDK.
 */
export class S3Target {
  private transport: Promise<S3Transport> | undefined;
  private readonly journal: S3UploadJournalRepository;
  private readonly requests: S3ProcessRequestRepository;
  /** Asks the processing server to process completed objects, when one is configured. */
  private readonly starter: S3ProcessingStarter | undefined;

  constructor(
    private readonly options: S3TransportOptions,
    private readonly logger: Logger,
    processing?: Omit<S3ProcessingOptions, 'db' | 'logger'>,
  ) {
    this.journal = new S3UploadJournalRepository(options.db);
    this.requests = new S3ProcessRequestRepository(options.db);
    this.starter = processing && new S3ProcessingStarter({ ...processing, db: options.db, logger });
  }

  /** Starts asking for the processing requests left pending (after a restart). */
  start(): void {
    this.starter?.start();
  }

  /** Every state move of the service's tasks: a completed S3 task may need processing. */
  afterMove(task: UploadTask): void {
    if (task.protocol === 's3' && task.state === 'completed') this.starter?.afterUpload(this.decorate(task));
  }

  /** The transport, loaded once. */
  load(): Promise<S3Transport> {
    this.transport ??= import('./s3-transport.js').then((m) => new m.S3Transport(this.options));
    return this.transport;
  }

  /** The object a completed task wrote (bucket, key, ETag, manifest), from the journal. */
  storedObject(taskId: string): StoredObject | undefined {
    return storedObjectOf(this.journal, taskId);
  }

  /** The task with its `s3` state and `object` (see `withS3State`). */
  decorate(task: UploadTask): UploadTask {
    return withS3State(this.journal, this.requests, task);
  }

  /**
   * Cancel or giving up: aborts the multipart upload once `after` (the stopped attempt) settled,
   * so nothing stays billed in the bucket. Never rejects; a failure is logged.
   */
  abandon(remoteUrl: string, after: Promise<unknown> = Promise.resolve()): void {
    void after
      .catch(() => undefined)
      .then(() => this.load())
      .then((transport) => transport.terminate(remoteUrl))
      .then(
        () => this.logger.info({ remoteUrl }, 'multipart upload aborted'),
        (error: unknown) =>
          this.logger.warn({ err: error, remoteUrl }, 'could not abort the multipart upload'),
      );
  }

  async close(): Promise<void> {
    await this.starter?.close();
    if (this.transport) (await this.transport.catch(() => undefined))?.close();
  }
}

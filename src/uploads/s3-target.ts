import type { Logger } from '../logging/index.js';
import { S3UploadJournalRepository, type Db } from '../store/index.js';
import type { S3Transport, S3TransportOptions } from './s3-transport.js';
import type { StoredObject } from './transport.js';
import type { UploadTask } from './upload-types.js';

/** The object a completed S3 task wrote (bucket, key, ETag, manifest), from the journal. */
export function storedObjectOf(journal: S3UploadJournalRepository, taskId: string): StoredObject | undefined {
  const upload = journal.find(taskId)?.upload;
  if (upload?.state !== 'completed' || upload.etag === null || upload.manifestKey === null) return undefined;
  return {
    bucket: upload.bucket,
    key: upload.key,
    etag: upload.etag,
    manifestKey: upload.manifestKey,
    verifiedBy: upload.verifiedBy ?? 'read-back',
  };
}

/** The task with its `object` when it is a completed S3 task (for readers without a service). */
export function withStoredObject<T extends UploadTask | undefined>(db: Db, task: T): T {
  if (task?.protocol !== 's3' || task.state !== 'completed') return task;
  const object = storedObjectOf(new S3UploadJournalRepository(db), task.id);
  return object ? { ...task, object } : task;
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

  constructor(
    private readonly options: S3TransportOptions,
    private readonly logger: Logger,
  ) {
    this.journal = new S3UploadJournalRepository(options.db);
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
    if (this.transport) (await this.transport.catch(() => undefined))?.close();
  }
}

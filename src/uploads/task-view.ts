import type { UploadTaskRecord } from '../store/index.js';
import { isUploadState } from './upload-state-machine.js';
import type { UploadTask } from './upload-types.js';

/** The caller's view of a stored task (unknown states read as failed, never as running). */
export function toTask(record: UploadTaskRecord): UploadTask {
  const state = isUploadState(record.state) ? record.state : 'failed';
  const protocol =
    record.protocol === 'tus' || record.protocol === 'multipart' || record.protocol === 's3'
      ? record.protocol
      : null;
  return {
    id: record.id,
    filePath: record.filePath,
    fileName: record.fileName,
    sessionName: record.sessionName,
    recordingId: record.recordingId,
    autoProcess: record.autoProcess,
    state,
    attempts: record.attempts,
    nextAttemptAt: record.nextAttemptAt,
    bytesSent: record.bytesSent,
    size: record.size,
    sha256: record.sha256,
    protocol,
    remoteUrl: record.remoteUrl,
    lastError:
      record.lastErrorCode === null
        ? null
        : { code: record.lastErrorCode, message: record.lastErrorMessage ?? '' },
    compressionRatio: record.compressionRatio,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    completedAt: record.completedAt,
  };
}

/** A duration for history lines: "1.5 s", "42 s". */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

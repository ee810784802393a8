import type { UploadTaskRecord } from '../store/index.js';
import { targetView } from './s3-task-target.js';
import { isUploadState } from './upload-state-machine.js';
import type { UploadTask, UploadVerification } from './upload-types.js';

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
    verifiedBy:
      record.verifiedBy === 'sha256' || record.verifiedBy === 'size' || record.verifiedBy === 'none'
        ? record.verifiedBy
        : null,
    protocol,
    target: targetView(record),
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

/**
 * What the server's confirmation of a completed task proves, in the words the history, the
 * CLI and the page use: a digest only when the server reported the same one.
 */
export function confirmationText(task: Pick<UploadTask, 'sha256' | 'verifiedBy'>): string {
  return verificationText(task.verifiedBy, task.sha256);
}

export function verificationText(verifiedBy: UploadVerification | null, sha256: string | null): string {
  if (verifiedBy === 'sha256' && sha256 !== null) return `sha256 ${sha256} confirmed by the server`;
  if (verifiedBy === 'size' || verifiedBy === 'none') return 'accepted by the server, no checksum reported';
  return 'not confirmed by the server';
}

import { formatBytes } from '../config/index.js';
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
export function confirmationText(task: Pick<UploadTask, 'sha256' | 'verifiedBy' | 'parts'>): string {
  const parts = task.parts;
  if (parts?.mode === 'parts' && task.verifiedBy !== null) {
    // The server checked each part's digest and joined them itself: say that, not a whole-file digest.
    const each =
      task.verifiedBy === 'sha256' ? 'each sha256 confirmed by the server' : 'accepted by the server';
    const n = parts.uploaded;
    return `${n} part${n === 1 ? '' : 's'} joined on the server, ${each}`;
  }
  return verificationText(task.verifiedBy, task.sha256);
}

/** "3 of 4 parts on the server" (total unknown while recording: "3 parts on the server so far"), and the backlog. */
export function partsText(parts: NonNullable<UploadTask['parts']>): string {
  const on =
    parts.total === null
      ? `${parts.uploaded} part${parts.uploaded === 1 ? '' : 's'} on the server so far`
      : `${parts.uploaded} of ${parts.total} parts on the server`;
  const backlog = parts.waiting > 0 ? `, ${parts.waiting} waiting (${formatBytes(parts.waitingBytes)})` : '';
  const open = parts.open !== undefined ? `, part ${parts.open + 1} on its way as it records` : '';
  return parts.mode === 'joined'
    ? 'the joined recording is sent after Stop (the target takes no parts)'
    : `${on}${backlog}${open}`;
}

export function verificationText(verifiedBy: UploadVerification | null, sha256: string | null): string {
  if (verifiedBy === 'sha256' && sha256 !== null) return `sha256 ${sha256} confirmed by the server`;
  if (verifiedBy === 'size' || verifiedBy === 'none') return 'accepted by the server, no checksum reported';
  return 'not confirmed by the server';
}

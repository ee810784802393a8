import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../errors/index.js';
import type { UploadHttpClient } from './http-client.js';
import { fetchRemoteStatus } from './server-api.js';
import { seconds, verificationText } from './task-view.js';
import type { TransportResult } from './transport.js';
import type { UploadVerification } from './upload-types.js';

/** A server computed another digest than ours: the copy it holds is not the file. */
export function checksumMismatch(theirs: string, ours: string): AppError {
  return new AppError(
    'CHECKSUM_MISMATCH',
    `the server holds a file whose sha256 is ${theirs}, not ${ours}; upload it again (streamai upload)`,
  );
}

/** How the server confirmed an upload, and the history line that says so. */
export interface Confirmation {
  verifiedBy: UploadVerification;
  message: string;
}

const byDigest = (sha256: string): Confirmation => ({
  verifiedBy: 'sha256',
  message: verificationText('sha256', sha256),
});

/**
 * How the server confirms the upload. The transport's answer when it carries the digest (or,
 * from a server of the original's kind, the matching size and no digest: complete at once,
 * "accepted by the server, no checksum reported"); else the server's /status is polled until
 * it reports the digest (bounded by `confirmTimeoutMs`).
 */
export async function confirmUpload(options: {
  http: UploadHttpClient;
  taskId: string;
  protocol: 'tus' | 'multipart' | 's3';
  sha256: string;
  result: TransportResult;
  confirmTimeoutMs: number;
  signal: AbortSignal;
}): Promise<Confirmation> {
  const { http, taskId, protocol, sha256, result, signal } = options;
  if (result.serverSha256 !== null) {
    if (result.serverSha256 !== sha256) throw checksumMismatch(result.serverSha256, sha256);
    // A transport that verified the upload itself (S3: ETag, or a read-back) says how.
    return result.confirmation !== undefined
      ? { verifiedBy: 'sha256', message: result.confirmation }
      : byDigest(sha256);
  }
  if (result.sizeConfirmed === true) {
    return { verifiedBy: 'size', message: `${verificationText('size', null)} (size matches)` };
  }
  const deadline = Date.now() + options.confirmTimeoutMs;
  let delay = 100;
  for (;;) {
    let status;
    try {
      status = await fetchRemoteStatus(http, taskId, signal);
    } catch (error) {
      if (protocol === 'multipart' && isAppError(error) && error.code === 'UPLOAD_FAILED') status = undefined;
      else throw error;
    }
    if (status === undefined && protocol === 'multipart') {
      // An older server: it accepted the upload but has no /status and reported no digest.
      return { verifiedBy: 'none', message: `${verificationText('none', null)} (no /status either)` };
    }
    if (
      status !== undefined &&
      status.sha256 === undefined &&
      protocol === 'multipart' &&
      status.state !== 'receiving'
    ) {
      // Its /status knows the task but has no digest: the original's kind, after its 200.
      return { verifiedBy: 'none', message: verificationText('none', null) };
    }
    if (status?.sha256 !== undefined && status.sha256 !== sha256)
      throw checksumMismatch(status.sha256, sha256);
    if (status?.state === 'failed') {
      throw new AppError(
        'UPLOAD_FAILED',
        'the server marked the upload as failed; see streamai upload-status',
      );
    }
    if (status?.sha256 === sha256 && status.state !== 'receiving') return byDigest(sha256);
    if (Date.now() > deadline) {
      throw new AppError(
        'SERVER_ERROR',
        `the server did not confirm the upload's sha256 within ${seconds(options.confirmTimeoutMs)}`,
      );
    }
    await sleep(delay, undefined, { signal });
    delay = Math.min(1000, delay * 2);
  }
}

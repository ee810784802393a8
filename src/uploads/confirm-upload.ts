import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../errors/index.js';
import type { UploadHttpClient } from './http-client.js';
import { fetchRemoteStatus } from './server-api.js';
import { seconds } from './task-view.js';
import type { TransportResult } from './transport.js';

/** A server computed another digest than ours: the copy it holds is not the file. */
export function checksumMismatch(theirs: string, ours: string): AppError {
  return new AppError(
    'CHECKSUM_MISMATCH',
    `the server holds a file whose sha256 is ${theirs}, not ${ours}; upload it again (streamai upload)`,
  );
}

/**
 * Waits for the server to report the same sha256 and returns the history line for completion.
 * The transport's answer is used when it carries the digest; else the server's /status is
 * polled until it reports one (bounded by `confirmTimeoutMs`).
 */
export async function confirmUpload(options: {
  http: UploadHttpClient;
  taskId: string;
  protocol: 'tus' | 'multipart' | 's3';
  sha256: string;
  result: TransportResult;
  confirmTimeoutMs: number;
  signal: AbortSignal;
}): Promise<string> {
  const { http, taskId, protocol, sha256, result, signal } = options;
  if (result.serverSha256 !== null) {
    if (result.serverSha256 !== sha256) throw checksumMismatch(result.serverSha256, sha256);
    // A transport that verified the upload itself (S3: ETag, or a read-back) says how.
    return result.confirmation ?? `server confirmed sha256 ${sha256}`;
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
      return 'server accepted the upload (it reports no sha256 to confirm; older server)';
    }
    if (status?.sha256 !== undefined && status.sha256 !== sha256)
      throw checksumMismatch(status.sha256, sha256);
    if (status?.state === 'failed') {
      throw new AppError(
        'UPLOAD_FAILED',
        'the server marked the upload as failed; see streamai upload-status',
      );
    }
    if (status?.sha256 === sha256 && status.state !== 'receiving') return `server confirmed sha256 ${sha256}`;
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

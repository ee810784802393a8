import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors/index.js';
import { bodyBuffers } from './file-body.js';
import { PrefixDigest } from './prefix-digest.js';
import type { TransportJob, TransportResult } from './transport.js';
import { answeredSha256, digestThrough, patchEnd, type TusTransport } from './tus-transport.js';

/** The bytes on disk now (undefined when the recorder has not created the file yet). */
async function fileSizeOf(filePath: string): Promise<number | undefined> {
  return stat(filePath).then(
    (info) => info.size,
    () => undefined,
  );
}

/** How often a growing file is looked at for new bytes (and whether it closed). */
export const GROWTH_POLL_MS = 250;

/**
 * A file the recorder is still writing, append-only (RecorderEvents `segment-open`): every
 * byte once on disk is final, so any prefix may be sent before the file is closed.
 */
export interface GrowingFile {
  /**
   * Once the recorder closed it and it is known whether it is the recording's last part: its
   * final size, and the recording's part count when it is the last (else null). Undefined
   * while it is being written; `dropped` when the recording ended without this part (its
   * recorder died before closing it): the upload is abandoned (`PartDropped`).
   */
  closed(): { size: number; count: number | null } | 'dropped' | undefined;
}

/** The recording ended without the part being sent (see `GrowingFile.closed`). */
export class PartDropped extends Error {
  constructor(readonly remoteUrl: string) {
    super('the recording ended without this part');
  }
}

/** A growing file's upload: a transport job without a size (it comes when the file closes). */
export type GrowingJob = Omit<TransportJob, 'size' | 'sha256' | 'beforeComplete'> & {
  growing: GrowingFile;
};

/**
 * Sends a file while it is written, over tus with a deferred length (tus 1.0
 * creation-defer-length): whatever is on disk beyond the server's offset goes out in PATCHes of
 * at most one chunk, a quarter-second look at a time; once the recorder closed the file, the
 * completing PATCH declares its length and the whole file's sha256, which the server checks
 * before the upload counts as complete (the same contract as any one-pass tus upload). The
 * digest is computed on the bytes as they are sent, as for a closed file.
 *
 *   (create, deferred) ─▶ [bytes on disk beyond the offset?] ─ yes ─▶ PATCH ─▶ (loop)
 *                            │ no, still written ─▶ wait a look ─▶ (loop)
 *                            │ closed, all sent ─▶ completing PATCH (length, sha256) ─▶ done
 *
 * A resume (an earlier attempt's URL) continues from the server's offset, rebuilding the
 * prefix digest from the local file. A file that became shorter than what the server holds
 * (lost writes) cannot continue: the upload is dropped and the part is sent afresh.
 */
export async function uploadGrowing(
  tus: TusTransport,
  job: GrowingJob,
  chunkSizeBytes: number,
): Promise<TransportResult & { size: number; count: number | null }> {
  let url = job.remoteUrl;
  let current = 0;
  if (url !== null) {
    const where = await tus.serverOffset(url, job, undefined);
    const local = (await fileSizeOf(job.filePath)) ?? 0;
    if (where === undefined || !where.deferred || where.offset > local) {
      url = null;
      job.onRemoteUrl(null);
    } else current = where.offset;
  }
  if (url === null) {
    url = await tus.create({ ...job, sha256: null }, undefined);
    job.onRemoteUrl(url);
  }
  job.onConfirmed(current);
  const prefix = new PrefixDigest(job.filePath, job.signal);
  await prefix.moveTo(current);
  const buffers = bodyBuffers();
  let conflicts = 0;
  for (;;) {
    job.signal.throwIfAborted();
    const state = job.growing.closed();
    if (state === 'dropped') throw new PartDropped(url);
    const ending = state;
    const closed = ending?.size;
    const available = closed ?? (await fileSizeOf(job.filePath)) ?? 0;
    if (available < current) {
      throw new AppError('FILE_CHANGED', `${job.filePath} became shorter while it was being sent`);
    }
    if (closed === undefined && available === current) {
      await sleep(GROWTH_POLL_MS, undefined, { signal: job.signal });
      continue;
    }
    // A closed part's last chunk leaves its tail to a small completing PATCH (patchEnd).
    const end =
      closed !== undefined
        ? patchEnd(current, closed, chunkSizeBytes)
        : Math.min(available, current + chunkSizeBytes);
    const last = closed !== undefined && end === closed;
    const chunk = prefix.fork();
    const declared = last ? await digestThrough(chunk, job.filePath, current, end, job.signal) : undefined;
    const answer = await tus.patch(url, job, { start: current, end, last }, buffers, chunk, {
      sha256: declared,
      length: last ? closed : undefined,
      segmentCount: last ? (ending?.count ?? null) : null,
    });
    if (answer.status === 204 || answer.status === 200) {
      current = await tus.offsetAfterPatch(answer, { start: current, end }, end, prefix, chunk, job);
      conflicts = 0;
      if (last && current === closed) {
        const count = ending?.count ?? null;
        return { sha256: prefix.digest(), serverSha256: answeredSha256(answer), size: closed, count };
      }
      continue;
    }
    if (answer.status === 409 && conflicts < 3) {
      conflicts += 1;
      current = await tus.offsetAfterConflict(url, job, undefined, prefix);
      continue;
    }
    throw tus.refusal(answer, job);
  }
}

import type { RetentionPolicy } from '../config/index.js';

/** A local recording as the planner sees it. */
export interface RetentionCandidate {
  recordingId: string;
  sessionId: string;
  sessionName: string;
  fileName: string;
  /** The local file; null when there is none (already deleted, or never finalised). */
  filePath: string | null;
  size: number;
  /** Recording state: only `ready` recordings can ever be deleted. */
  state: string;
  /** When it was recorded (ISO): age for delete-after-days, order for max-gb. */
  recordedAt: string;
  /** The recording's own sha256, computed when it was finalised. */
  sha256: string | null;
  upload: {
    taskId: string;
    state: string;
    /** The digest the server (or bucket) confirmed, or null when it reported none. */
    confirmedSha256: string | null;
    /**
     * A recording sent part by part while it recorded: how many parts the server confirmed,
     * each by its own sha256, and joined there (the task completed only then); otherwise null
     * or absent. The local file is the station's own lossless join of those same parts, so its
     * bytes differ from the server's join (muxer headers) while its content does not.
     */
    confirmedParts?: number | null;
  } | null;
}

/** Why a recording is kept (never deletable as things stand). */
export type KeepReason =
  | 'being recorded'
  | 'not finalised'
  | 'no local file'
  | 'not uploaded'
  | 'upload not finished'
  | 'upload failed'
  | 'server did not confirm the sha256';

export interface PlannedDeletion {
  candidate: RetentionCandidate;
  /** One sentence, stored with the deletion and shown on the page. */
  reason: string;
  /** When it becomes due (ISO); equal to or before `now` for what is due now. */
  dueAt: string | null;
}

export interface RetentionPlan {
  /** What is deleted now. */
  due: PlannedDeletion[];
  /** What the policy will clean next, in order, when it is not due yet. */
  upcoming: PlannedDeletion[];
  /** Recordings never deletable in their current state, with why. */
  kept: Array<{ candidate: RetentionCandidate; why: KeepReason }>;
  /** Bytes of local recording files (for max-gb). */
  localBytes: number;
}

const DAY_MS = 24 * 3600 * 1000;
/** max-gb counts decimal gigabytes (10^9 bytes), as disks are sold. */
export const GB = 1e9;

/**
 * Why a recording may not be deleted, or undefined when it may: only a finalised (`ready`)
 * recording with a local file, whose upload completed and whose sha256 the server confirmed
 * equal to the recording's own — or, for a recording sent in parts, every part's. A failed
 * upload, one in progress, a server that reported no digest, or a compressed upload (other
 * digest) all keep the file.
 */
export function keepReason(c: RetentionCandidate): KeepReason | undefined {
  if (c.state === 'recording') return 'being recorded';
  if (c.state !== 'ready') return 'not finalised';
  if (c.filePath === null) return 'no local file';
  if (!c.upload) return 'not uploaded';
  if (c.upload.state === 'failed' || c.upload.state === 'cancelled') return 'upload failed';
  if (c.upload.state !== 'completed') return 'upload not finished';
  if (!c.sha256) return 'server did not confirm the sha256';
  if (c.upload.confirmedSha256 === c.sha256) return undefined;
  if ((c.upload.confirmedParts ?? 0) > 0) return undefined;
  return 'server did not confirm the sha256';
}

/** "sent in 3 parts, each sha256 confirmed" (a recording sent part by part while it recorded). */
function partsText(count: number): string {
  return count === 1
    ? 'sent as 1 part, its sha256 confirmed'
    : `sent in ${count} parts, each sha256 confirmed`;
}

/**
 * What the policy deletes now and next. Pure: the service feeds it the recordings and the clock.
 * - keep: nothing.
 * - delete-after-days:N: deletable recordings recorded more than N days ago, oldest first.
 * - max-gb:N: while the local recordings total more than N GB, the oldest deletable ones.
 */
export function planRetention(
  policy: RetentionPolicy,
  candidates: readonly RetentionCandidate[],
  now: Date,
): RetentionPlan {
  const kept: RetentionPlan['kept'] = [];
  const deletable: RetentionCandidate[] = [];
  for (const c of candidates) {
    const why = keepReason(c);
    if (why) kept.push({ candidate: c, why });
    else deletable.push(c);
  }
  deletable.sort(
    (a, b) => a.recordedAt.localeCompare(b.recordedAt) || a.recordingId.localeCompare(b.recordingId),
  );
  const localBytes = candidates.reduce((sum, c) => sum + (c.filePath === null ? 0 : c.size), 0);
  const due: PlannedDeletion[] = [];
  const upcoming: PlannedDeletion[] = [];
  const confirmed = (c: RetentionCandidate): string =>
    c.upload?.confirmedSha256 === c.sha256
      ? `sha256 ${c.sha256?.slice(0, 12)}… confirmed by the server (${c.upload?.taskId})`
      : `${partsText(c.upload?.confirmedParts ?? 0)} by the server and joined there (${c.upload?.taskId})`;

  if (policy.kind === 'delete-after-days') {
    for (const c of deletable) {
      const dueAt = new Date(Date.parse(c.recordedAt) + policy.days * DAY_MS);
      const item = {
        candidate: c,
        reason: `RECORDINGS_RETENTION=delete-after-days:${policy.days}: recorded ${c.recordedAt.slice(0, 10)}, ${confirmed(c)}`,
        dueAt: dueAt.toISOString(),
      };
      (dueAt.getTime() <= now.getTime() ? due : upcoming).push(item);
    }
  } else if (policy.kind === 'max-gb') {
    const limit = policy.gigabytes * GB;
    let total = localBytes;
    for (const c of deletable) {
      const over = total > limit;
      const item = {
        candidate: c,
        reason: `RECORDINGS_RETENTION=max-gb:${policy.gigabytes}: local recordings used ${(total / GB).toFixed(3)} GB; oldest deletable, ${confirmed(c)}`,
        dueAt: over ? now.toISOString() : null,
      };
      if (over) {
        due.push(item);
        total -= c.size;
      } else upcoming.push(item);
    }
  }
  return { due, upcoming, kept, localBytes };
}

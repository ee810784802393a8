import type { Logger } from '../logging/index.js';

/**
 * How an OBS recording is cut into parts (RECORDING_SEGMENT_SECONDS > 0), decided from what
 * obs-websocket offers and what the OBS profile allows:
 *   split-request  obs-websocket ≥ 5.5 (OBS ≥ 30.2): StreamAI calls SplitRecordFile every N s
 *                  and OBS reports RecordFileChanged; any output mode.
 *   auto-split     older obs-websocket (Debian's OBS 29 has 5.1): OBS's own automatic file
 *                  splitting, switched on in the profile just for this recording. OBS reads it
 *                  only in Advanced output mode with the Standard recording type, and splits by
 *                  whole minutes (or by size in MB).
 *   one-file       neither: the recording is one file, as with RECORDING_SEGMENT_SECONDS=0.
 */
export type ObsSegmentMode = 'split-request' | 'auto-split' | 'one-file';

/** What the status shows about an OBS recording's parts. */
export interface ObsSegmentation {
  mode: ObsSegmentMode;
  /** How long a part lasts: N for split-request, whole minutes for auto-split; null when by size. */
  seconds: number | null;
  /** Parts cut by size (auto-split only), in MB. */
  sizeMb: number | null;
  /** Why the recording is one file (one-file only). */
  reason: string | null;
}

/** One profile parameter set before StartRecord; `previous` is put back after it (null: removed). */
export interface ProfileChange {
  category: string;
  name: string;
  value: string;
  previous: string | null;
}

export interface ObsSegmentPlan extends ObsSegmentation {
  changes: ProfileChange[];
}

/** GetProfileParameter: the profile's own value and OBS's default (both null when unknown). */
export type ReadProfileParameter = (
  category: string,
  name: string,
) => Promise<{ value: string | null; defaultValue: string | null }>;

/** The OBS profile through obs-websocket (GetProfileParameter / SetProfileParameter; null removes). */
export interface ObsProfile {
  read: ReadProfileParameter;
  write(category: string, name: string, value: string | null): Promise<void>;
}

/** What the status shows of a plan (its profile changes stay inside). */
export function segmentationOf(plan: ObsSegmentation): ObsSegmentation {
  return { mode: plan.mode, seconds: plan.seconds, sizeMb: plan.sizeMb, reason: plan.reason };
}

/** planObsSegments on a live profile; a profile that cannot be read means one file, said why. */
export async function planSegments(
  profile: ObsProfile,
  options: { seconds: number; sizeMb: number | undefined; canSplitRequest: boolean; logger: Logger },
): Promise<ObsSegmentPlan> {
  const { logger, ...rest } = options;
  let plan: ObsSegmentPlan;
  try {
    plan = await planObsSegments({ ...rest, read: profile.read });
  } catch (error) {
    const reason = `could not read the OBS profile: ${error instanceof Error ? error.message : String(error)}`;
    plan = { mode: 'one-file', seconds: null, sizeMb: null, reason, changes: [] };
  }
  if (plan.mode === 'one-file')
    logger.warn({ reason: plan.reason }, 'OBS records this recording as one file');
  return plan;
}

/** Sets the plan's profile parameters; returns those set (to put back), in order. */
export async function applyProfile(profile: ObsProfile, changes: ProfileChange[]): Promise<ProfileChange[]> {
  const applied: ProfileChange[] = [];
  try {
    for (const change of changes) {
      await profile.write(change.category, change.name, change.value);
      applied.push(change);
    }
  } catch (error) {
    await restoreProfile(profile, applied);
    throw error;
  }
  return applied;
}

/** Puts the user's values back, last change first (null: the parameter was not there, so it is removed). */
export async function restoreProfile(
  profile: ObsProfile,
  applied: ProfileChange[],
  logger?: Logger,
): Promise<void> {
  for (const change of [...applied].reverse()) {
    await profile
      .write(change.category, change.name, change.previous)
      .catch((error: unknown) =>
        logger?.warn({ err: error, change }, 'could not restore an OBS profile setting'),
      );
  }
}

/**
 * Reads the profile and returns the plan: the mode and the profile changes it needs. The parts
 * are Matroska whatever the user's format (MP4 parts of a crash are unreadable; Matroska parts
 * concatenate losslessly), so a non-mkv recording format is switched to mkv for the recording.
 */
export async function planObsSegments(options: {
  seconds: number;
  /** Cut by size instead of time (auto-split only; tests, since OBS 29 cuts by whole minutes). */
  sizeMb?: number | undefined;
  canSplitRequest: boolean;
  read: ReadProfileParameter;
}): Promise<ObsSegmentPlan> {
  const { seconds, sizeMb, canSplitRequest, read } = options;
  const effective = async (category: string, name: string): Promise<string | null> => {
    const p = await read(category, name);
    return p.value ?? p.defaultValue;
  };
  const advanced = (await effective('Output', 'Mode'))?.toLowerCase() === 'advanced';
  const section = advanced ? 'AdvOut' : 'SimpleOutput';
  const formatChanges: ProfileChange[] = [];
  // OBS 29 keeps the format in RecFormat, OBS 30 in RecFormat2; a key OBS does not know reads null.
  for (const name of ['RecFormat', 'RecFormat2']) {
    const p = await read(section, name);
    const format = p.value ?? p.defaultValue;
    if (format !== null && format !== 'mkv') {
      formatChanges.push({ category: section, name, value: 'mkv', previous: p.value });
    }
  }

  if (canSplitRequest && sizeMb === undefined) {
    return { mode: 'split-request', seconds, sizeMb: null, reason: null, changes: formatChanges };
  }
  const recType = (await effective('AdvOut', 'RecType')) ?? 'Standard';
  if (!advanced || recType !== 'Standard') {
    return {
      mode: 'one-file',
      seconds: null,
      sizeMb: null,
      reason:
        'this OBS splits recordings only in Advanced output mode with the Standard recording type ' +
        '(Settings → Output); obs-websocket 5.5 or later (OBS 30.2) splits in any mode',
      changes: [],
    };
  }
  const minutes = Math.max(1, Math.round(seconds / 60));
  const wanted: Array<[string, string]> = [
    ['RecSplitFile', 'true'],
    ['RecSplitFileType', sizeMb !== undefined ? 'Size' : 'Time'],
    sizeMb !== undefined ? ['RecSplitFileSize', String(sizeMb)] : ['RecSplitFileTime', String(minutes)],
  ];
  const changes = [...formatChanges];
  for (const [name, value] of wanted) {
    const p = await read('AdvOut', name);
    if (p.value !== value) changes.push({ category: 'AdvOut', name, value, previous: p.value });
  }
  return {
    mode: 'auto-split',
    seconds: sizeMb !== undefined ? null : minutes * 60,
    sizeMb: sizeMb ?? null,
    reason: null,
    changes,
  };
}

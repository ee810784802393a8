import type { UploadState } from './upload-types.js';

/**
 * The upload task's states and the moves allowed between them, in one place.
 *
 * queued → validating → (compressing →) uploading → completed
 * any running state → retry_wait (temporary failure) → validating
 * any unfinished state → failed | cancelled;  failed | cancelled → queued (retry)
 * A running state may also be re-entered after a restart (validating → validating).
 */
export const TRANSITIONS: Readonly<Record<UploadState, readonly UploadState[]>> = {
  queued: ['validating', 'failed', 'cancelled'],
  validating: ['validating', 'compressing', 'uploading', 'retry_wait', 'failed', 'cancelled'],
  compressing: ['validating', 'uploading', 'retry_wait', 'failed', 'cancelled'],
  uploading: ['validating', 'uploading', 'retry_wait', 'completed', 'failed', 'cancelled'],
  retry_wait: ['validating', 'failed', 'cancelled'],
  completed: [],
  failed: ['queued'],
  cancelled: ['queued'],
};

/** States a task never leaves on its own. */
export const FINISHED_STATES: readonly UploadState[] = ['completed', 'failed', 'cancelled'];

/** States the service picks up on start (a crash may have left a task in any of them). */
export const UNFINISHED_STATES: readonly UploadState[] = [
  'queued',
  'validating',
  'compressing',
  'uploading',
  'retry_wait',
];

export function isFinished(state: UploadState): boolean {
  return FINISHED_STATES.includes(state);
}

export function canMove(from: UploadState, to: UploadState): boolean {
  return TRANSITIONS[from].includes(to);
}

const ALL = new Set<string>(Object.keys(TRANSITIONS));

/** Narrows a state read from the database. */
export function isUploadState(value: string): value is UploadState {
  return ALL.has(value);
}

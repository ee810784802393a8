import { randomBytes } from 'node:crypto';

/**
 * A new upload task id: "task_" + milliseconds since 1970 (base 36, so ids sort by creation)
 * + 12 random hex digits, so ids stay unique across restarts and machines.
 */
export function newTaskId(now = Date.now()): string {
  return `task_${now.toString(36)}_${randomBytes(6).toString('hex')}`;
}

/** True for strings shaped like a task id (what commands accept before asking the store). */
export function isTaskId(value: string): boolean {
  return /^task_[A-Za-z0-9_-]{1,100}$/.test(value);
}

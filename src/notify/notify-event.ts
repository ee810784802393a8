import { createHash } from 'node:crypto';

/** The events StreamAI announces. */
export const EVENT_TYPES = [
  'recording.started',
  'recording.stopped',
  'upload.completed',
  'upload.failed',
  'processing.done',
  'processing.failed',
] as const;
export type NotifyEventType = (typeof EVENT_TYPES)[number];

/** Events that also go to Discord / ntfy as a human line (recordings starting do not). */
export const HUMAN_EVENT_TYPES: ReadonlySet<NotifyEventType> = new Set([
  'upload.completed',
  'upload.failed',
  'processing.done',
  'processing.failed',
]);

/** The JSON document a webhook receiver gets. */
export interface NotifyEvent {
  /** "evt_" + 32 hex: derived from what happened, so the same happening is always the same id. */
  id: string;
  type: NotifyEventType;
  /** ISO 8601, when StreamAI noticed it. */
  time: string;
  /** The object's view, as the API shows it (an upload task, a recording, a processing status). */
  data: Record<string, unknown>;
}

/**
 * A stable event id from a key that names the happening (e.g. "upload.completed:task_…"):
 * a restart that notices the same thing again produces the same id, and the queue ignores it.
 */
export function eventId(key: string): string {
  return `evt_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

import { AppError } from '../errors/index.js';
import type { RecordingFinishedEvent, RecordingLostEvent } from '../recorder/index.js';

/** The recording the manager is running: its session and its stored record. */
export interface ActiveRecording {
  sessionId: string;
  recordingId: string;
}

/** A finish or loss the recorder reported while startRecording() was still storing the recording. */
export type EarlyEnd =
  { kind: 'finished'; event: RecordingFinishedEvent } | { kind: 'lost'; event: RecordingLostEvent };

/**
 * The manager's one state (OBS's answers alone cannot be trusted for this): what it is doing
 * and, while recording or stopping, which recording. Nothing else holds a part of it.
 */
export type RecordingPhase =
  | { name: 'idle' }
  | { name: 'starting'; early: EarlyEnd | null }
  | ({ name: 'recording' } & ActiveRecording)
  | ({ name: 'stopping' } & ActiveRecording);

/** The phase's name: `ManagerStatus.state`. */
export type ManagerState = RecordingPhase['name'];

/** What happens to the manager, typed. */
export type RecordingEvent =
  /** startRecording() was called. */
  | { type: 'start' }
  /** The recorder started and the recording is stored. */
  | ({ type: 'started' } & ActiveRecording)
  /** startRecording() failed before the recording ran. */
  | { type: 'start-failed' }
  /** A recording began outside StreamAI (OBS's button), or a previous run's orphan is adopted. */
  | ({ type: 'adopted' } & ActiveRecording)
  /** stopRecording() was called. */
  | { type: 'stop' }
  /** The recorder refused to stop (OBS unreachable): still recording. */
  | { type: 'stop-failed' }
  /** The recorder closed a file (our stop, OBS's button, a source that ended). */
  | { type: 'finished'; event: RecordingFinishedEvent }
  /** The recorder lost the recording without a file. */
  | { type: 'lost'; event: RecordingLostEvent };

export type RecordingEventType = RecordingEvent['type'];

/**
 * The moves, in one table: for each state, the events it accepts and the state they lead to.
 * An event missing from a row is refused by `transition()`.
 *
 *   idle ──start──▶ starting ──started──▶ recording ──stop──▶ stopping
 *    ▲  ◀─start-failed─┘  │ finished/lost: kept as `early`,     │ │ stop-failed ──▶ recording
 *    │                    ▼ replayed once started               │ │
 *    └──────────── finished / lost (from recording or stopping) ┘ ┘
 *   idle ──adopted──▶ recording;  idle ──finished/lost──▶ idle (a file we never saw start)
 */
export const RECORDING_TRANSITIONS: Readonly<
  Record<ManagerState, Readonly<Partial<Record<RecordingEventType, ManagerState>>>>
> = {
  idle: { start: 'starting', adopted: 'recording', finished: 'idle', lost: 'idle' },
  starting: { started: 'recording', 'start-failed': 'idle', finished: 'starting', lost: 'starting' },
  recording: { stop: 'stopping', finished: 'idle', lost: 'idle' },
  stopping: { 'stop-failed': 'recording', finished: 'idle', lost: 'idle' },
};

/** True when `event` is allowed in `phase`. */
export function canApply(phase: RecordingPhase, type: RecordingEventType): boolean {
  return RECORDING_TRANSITIONS[phase.name][type] !== undefined;
}

/**
 * The one transition function: the next phase, or INVALID_STATE for a move the table does not
 * allow. Pure: the manager applies it in one place (`RecordingManager.apply`) and acts on it.
 */
export function transition(phase: RecordingPhase, event: RecordingEvent): RecordingPhase {
  const to = RECORDING_TRANSITIONS[phase.name][event.type];
  if (to === undefined) {
    throw new AppError('INVALID_STATE', `cannot ${event.type} while ${phase.name}`);
  }
  switch (event.type) {
    case 'start':
      return { name: 'starting', early: null };
    case 'started':
    case 'adopted':
      return { name: 'recording', sessionId: event.sessionId, recordingId: event.recordingId };
    case 'start-failed':
      return { name: 'idle' };
    case 'stop':
      return { ...activeOf(phase), name: 'stopping' };
    case 'stop-failed':
      return { ...activeOf(phase), name: 'recording' };
    case 'finished':
    case 'lost':
      // While starting, the end is kept and replayed once the recording is stored.
      if (phase.name === 'starting') {
        return {
          name: 'starting',
          early:
            event.type === 'finished'
              ? { kind: 'finished', event: event.event }
              : { kind: 'lost', event: event.event },
        };
      }
      return { name: 'idle' };
  }
}

/** The recording of a recording/stopping phase; undefined otherwise. */
export function activeRecording(phase: RecordingPhase): ActiveRecording | undefined {
  return phase.name === 'recording' || phase.name === 'stopping'
    ? { sessionId: phase.sessionId, recordingId: phase.recordingId }
    : undefined;
}

function activeOf(phase: RecordingPhase): ActiveRecording {
  const active = activeRecording(phase);
  if (!active) throw new AppError('INVALID_STATE', `no recording while ${phase.name}`);
  return active;
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAppError } from '../../src/errors/index.js';
import {
  RECORDING_TRANSITIONS,
  canApply,
  transition,
  type ManagerState,
  type RecordingEvent,
  type RecordingPhase,
} from '../../src/sessions/index.js';

const active = { sessionId: 'ses_1', recordingId: 'rec_1' };
const finished: RecordingEvent = {
  type: 'finished',
  event: {
    outputPath: '/x.mkv',
    startedAt: null,
    stoppedAt: '2026-06-01T10:00:00.000Z',
    external: true,
    interrupted: false,
  },
};
const lost: RecordingEvent = {
  type: 'lost',
  event: { startedAt: null, stoppedAt: '2026-06-01T10:00:00.000Z', message: 'gone' },
};
const EVENTS: RecordingEvent[] = [
  { type: 'start' },
  { type: 'started', ...active },
  { type: 'start-failed' },
  { type: 'adopted', ...active },
  { type: 'stop' },
  { type: 'stop-failed' },
  finished,
  lost,
];
const PHASES: Record<ManagerState, RecordingPhase> = {
  idle: { name: 'idle' },
  starting: { name: 'starting', early: null },
  recording: { name: 'recording', ...active },
  stopping: { name: 'stopping', ...active },
};

test('every move in the table leads where the table says, and every other move is INVALID_STATE', () => {
  for (const [name, phase] of Object.entries(PHASES) as Array<[ManagerState, RecordingPhase]>) {
    for (const event of EVENTS) {
      const to = RECORDING_TRANSITIONS[name][event.type];
      assert.equal(canApply(phase, event.type), to !== undefined);
      if (to === undefined) {
        assert.throws(
          () => transition(phase, event),
          (e) => isAppError(e) && e.code === 'INVALID_STATE',
          `${event.type} while ${name}`,
        );
      } else {
        assert.equal(transition(phase, event).name, to, `${event.type} while ${name}`);
      }
    }
  }
});

test('an end reported while starting is kept for the start to replay; the recording keeps its ids through stop', () => {
  const starting = transition({ name: 'idle' }, { type: 'start' });
  const early = transition(starting, finished);
  assert.deepEqual(early, { name: 'starting', early: { kind: 'finished', event: finished.event } });
  const lostEarly = transition(starting, lost);
  assert.equal(lostEarly.name === 'starting' && lostEarly.early?.kind, 'lost');
  const recording = transition(early, { type: 'started', ...active });
  assert.deepEqual(recording, { name: 'recording', ...active });
  const stopping = transition(recording, { type: 'stop' });
  assert.deepEqual(stopping, { name: 'stopping', ...active });
  assert.deepEqual(transition(stopping, { type: 'stop-failed' }), { name: 'recording', ...active });
  assert.deepEqual(transition(stopping, finished), { name: 'idle' });
  // Nothing can start twice, or stop what is only starting.
  assert.equal(canApply(starting, 'start'), false);
  assert.equal(canApply(starting, 'stop'), false);
  assert.equal(canApply(recording, 'adopted'), false);
});

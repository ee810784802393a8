import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { RecordingManager, RecordingView } from '../../src/sessions/index.js';
import { fakeStation } from './fake-station.js';

/** Resolves with the recording once it is ready or failed. */
function settles(manager: RecordingManager, id?: string): Promise<RecordingView> {
  return new Promise<RecordingView>((resolve) => {
    const on = (r: RecordingView) => {
      if ((id === undefined || r.id === id) && (r.state === 'ready' || r.state === 'failed')) {
        manager.off('recording', on);
        resolve(r);
      }
    };
    manager.on('recording', on);
  });
}

test('a recording that finishes while the manager is still starting it is finalised once started, and the manager ends idle', async (t) => {
  const { manager, recorder } = await fakeStation(t);
  const open = recorder.holdStart();
  const starting = manager.startRecording('short live source');
  while (recorder.starts.length === 0) await new Promise((resolve) => setImmediate(resolve));
  assert.equal(manager.status().state, 'starting');
  await assert.rejects(manager.stopRecording(), { code: 'NOT_RECORDING' });
  await assert.rejects(manager.startRecording('another'), { code: 'ALREADY_RECORDING' });

  await recorder.emitFinished(); // the source ended before startRecording() stored the recording
  assert.equal(manager.status().state, 'starting', 'kept for later, not applied to nothing');
  const ready = settles(manager);
  open();
  const started = await starting;
  const final = await ready;
  assert.equal(final.id, started.id);
  assert.equal(final.state, 'ready', JSON.stringify(final.error));
  assert.equal(final.external, true, 'stopped by the source');
  assert.equal(manager.status().state, 'idle');
  assert.equal(manager.status().recording, false);
});

test('a recording lost while starting ends failed (RECORDER_UNAVAILABLE) and the manager idle', async (t) => {
  const { manager, recorder } = await fakeStation(t);
  const open = recorder.holdStart();
  const starting = manager.startRecording('lost early');
  while (recorder.starts.length === 0) await new Promise((resolve) => setImmediate(resolve));
  recorder.emitLost('fake: OBS was killed');
  const failed = settles(manager);
  open();
  const started = await starting;
  const final = await failed;
  assert.equal(final.id, started.id);
  assert.equal(final.state, 'failed');
  assert.equal(final.error?.code, 'RECORDER_UNAVAILABLE');
  assert.equal(manager.status().state, 'idle');
});

test('elapsed time and stamps come from the injected clock', async (t) => {
  const { manager, clock } = await fakeStation(t);
  const started = await manager.startRecording('clocked');
  assert.equal(started.startedAt, '2026-06-01T10:00:00.000Z');
  clock.advance(42_000);
  assert.equal(manager.status().elapsedSeconds, 42);
  const stopped = await manager.stopRecording();
  assert.equal(stopped.stoppedAt, '2026-06-01T10:00:42.000Z');
});

test('an OBS recording left open by a crashed run is adopted when OBS still records, and finalised under the same id', async (t) => {
  const first = await fakeStation(t, { kind: 'obs' });
  const orphan = await first.manager.startRecording('orphaned');
  await first.close(); // an OBS recording is left running in OBS

  const outputPath = orphan.sourcePath ?? '';
  const second = await fakeStation(t, {
    dir: first.dir,
    clip: first.clip,
    kind: 'obs',
    before: (recorder) => recorder.emitStarted(outputPath), // OBS is still recording it
  });
  const status = second.manager.status();
  assert.equal(status.recording, true);
  assert.equal(status.recordingId, orphan.id, 'the same recording, not a new session');
  const ready = settles(second.manager, orphan.id);
  await second.recorder.emitFinished();
  const final = await ready;
  assert.equal(final.state, 'ready', JSON.stringify(final.error));
  assert.equal(second.manager.listSessions().length, 1);
  assert.equal(second.manager.status().state, 'idle');
});

test('an orphan whose file OBS closed while we were down is finalised as interrupted once OBS is reachable', async (t) => {
  const first = await fakeStation(t, { kind: 'obs' });
  const orphan = await first.manager.startRecording('closed meanwhile');
  await first.close();
  // OBS stopped and closed the file while the station was down.
  await mkdir(path.dirname(orphan.sourcePath ?? ''), { recursive: true });
  await copyFile(first.clip, orphan.sourcePath ?? '');

  const second = await fakeStation(t, { dir: first.dir, clip: first.clip, kind: 'obs', connected: false });
  assert.equal(second.manager.getRecording(orphan.id)?.state, 'recording', 'waits while OBS is unreachable');
  const ready = settles(second.manager, orphan.id);
  second.recorder.setConnected(true);
  const final = await ready;
  assert.equal(final.state, 'ready', JSON.stringify(final.error));
  assert.equal((final.technical as { interrupted?: boolean } | null)?.interrupted, true);
  assert.equal(final.stoppedAt, '2026-06-01T10:00:00.000Z', 'stamped by the clock');
  assert.equal(second.manager.status().state, 'idle');
});

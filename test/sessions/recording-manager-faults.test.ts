import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { METADATA_FILE, type SessionMetadata } from '../../src/sessions/index.js';
import { fakeStation } from './fake-station.js';

test('a session_metadata.json that cannot be written is recorded on the recording, logged, and retried at the next change; the station keeps running', async (t) => {
  const { recordingsPath, uploads, manager, logs } = await fakeStation(t);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));

  await manager.startRecording('blocked');
  const ready = await manager.stopRecording();
  assert.equal(ready.state, 'ready');
  const folder = path.join(recordingsPath, 'blocked');

  // The session folder is replaced by a file: every write of the metadata fails now.
  await rm(folder, { recursive: true, force: true });
  await writeFile(folder, 'not a folder');
  const taskId = await manager.upload(ready.id);
  uploads.move(taskId, 'uploading');
  await new Promise((resolve) => setTimeout(resolve, 50));

  assert.deepEqual(unhandled, [], 'no unhandled rejection');
  const failed = manager.getRecording(ready.id);
  assert.equal(failed?.state, 'ready', 'the recording itself is still ready');
  assert.equal(failed?.uploadState, 'uploading');
  assert.ok(failed?.error, 'the write error is recorded on the recording');
  assert.match(failed.error.message, /session_metadata\.json/);
  assert.ok(
    logs.some((l) => l.level >= 50 && /session_metadata\.json/.test(l.msg)),
    'the write error is logged',
  );

  // The folder is back: the next change writes the file and clears the error.
  await rm(folder, { force: true });
  await mkdir(folder);
  uploads.move(taskId, 'completed');
  await manager.whenMetadataWritten(ready.sessionId);
  const metadata = JSON.parse(await readFile(path.join(folder, METADATA_FILE), 'utf8')) as SessionMetadata;
  assert.equal(metadata.status, 'uploaded');
  assert.equal(manager.getRecording(ready.id)?.error, null);
  assert.deepEqual(unhandled, []);
});

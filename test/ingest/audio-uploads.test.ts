import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { startIngestServer } from '../helpers/ingest-server.js';
import { postUpload, sha256File, sha256Of, tusCreate, tusPatch, visibleUploads } from './ingest-support.js';

const AUDIO_NAMES = ['memo.m4a', 'room.wav', 'talk.mp3', 'master.flac', 'voice.ogg', 'call.opus'];

test('tus: audio-only files (.m4a .wav .mp3 .flac .ogg .opus) are accepted and stored byte-identical', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = randomBytes(16 * 1024);
  const digest = sha256Of(data);
  for (const [i, name] of AUDIO_NAMES.entries()) {
    const taskId = `tus-audio-${i}`;
    // A generic type: the extension alone must be enough.
    const created = await tusCreate(url, data.length, {
      filename: name,
      filetype: 'application/octet-stream',
      task_id: taskId,
      sha256: digest,
    });
    assert.equal(created.status, 201, `${name}: ${created.text}`);
    const sent = await tusPatch(created.location ?? '', 0, data);
    assert.equal(sent.status, 204, name);
    assert.equal(await sha256File(path.join(dataDir, taskId, name)), digest);
  }
  // An audio/* type is enough without a known extension.
  const typed = await tusCreate(url, data.length, {
    filename: 'recording',
    filetype: 'audio/mpeg',
    task_id: 'tus-audio-typed',
  });
  assert.equal(typed.status, 201, typed.text);
});

test('multipart: audio-only files are accepted by extension or by an audio/* type', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = randomBytes(16 * 1024);
  for (const [i, name] of AUDIO_NAMES.entries()) {
    const res = await postUpload(
      url,
      { task_id: `mp-audio-${i}` },
      { name, contentType: 'application/octet-stream', data },
    );
    assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.sha256, sha256Of(data));
  }
  const typed = await postUpload(
    url,
    { task_id: 'mp-audio-typed' },
    { name: 'recording', contentType: 'audio/wav', data },
  );
  assert.equal(typed.status, 200, JSON.stringify(typed.json));
  assert.equal((await visibleUploads(dataDir)).length, AUDIO_NAMES.length + 1);
});

test('obvious non-media (.txt, .exe) is still refused with 415 over tus and multipart', async (t) => {
  const { url, dataDir } = await startIngestServer(t);
  const data = Buffer.from('not media');
  for (const [name, type] of [
    ['notes.txt', 'text/plain'],
    ['setup.exe', 'application/x-msdownload'],
  ] as const) {
    const tus = await tusCreate(url, data.length, { filename: name, filetype: type, task_id: 'refused' });
    assert.equal(tus.status, 415, name);
    const body = JSON.parse(tus.text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'UNSUPPORTED_MEDIA_TYPE');
    assert.match(body.error.message, /not an audio or video file/);

    const form = await postUpload(url, { task_id: 'refused' }, { name, contentType: type, data });
    assert.equal(form.status, 415, name);
    assert.equal((form.json.error as { code: string }).code, 'UNSUPPORTED_MEDIA_TYPE');
  }
  assert.deepEqual(await visibleUploads(dataDir), []);
});

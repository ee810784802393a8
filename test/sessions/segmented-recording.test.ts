import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../src/media/index.js';
import { FfmpegRecorder } from '../../src/recorder/index.js';
import { RecordingManager, probeRecording } from '../../src/sessions/index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';
import { FakeUploadQueue } from './fake-upload-queue.js';

const run = promisify(execFile);
const runBuffer = (file: string, args: string[]) =>
  promisify(execFile)(file, args, { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 });

/**
 * Each stream's content, in order, comparable across containers (the parts are MPEG-TS, the
 * joined file Matroska), byte for byte: the H.264 stream's NAL units (as an Annex B stream, split
 * at its start codes: MPEG-TS and Matroska frame the same NAL units differently, 3- or 4-byte
 * start codes against length prefixes), and each AAC packet as copied, without the ADTS header
 * MPEG-TS carries (aac_adtstoasc leaves a Matroska packet as it is).
 */
async function packetHashes(file: string): Promise<Record<string, string[]>> {
  const { stdout } = await run(
    ffmpegPath,
    [
      '-v',
      'error',
      '-i',
      file,
      '-map',
      '0:a',
      '-c:a',
      'copy',
      '-bsf:a',
      'aac_adtstoasc',
      '-f',
      'framemd5',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const audio: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // stream, dts, pts, duration, size, hash — then side data (a TS part's first AAC packet
    // carries its skip samples), which is not the packet.
    audio.push(line.split(',').map((c) => c.trim())[5] ?? '');
  }
  return { video: await nalHashes(file), audio };
}

/** md5 of each NAL unit of a file's H.264 stream, in order (trailing zero bytes are padding). */
async function nalHashes(file: string): Promise<string[]> {
  const { stdout } = await runBuffer(ffmpegPath, [
    '-v',
    'error',
    '-i',
    file,
    '-map',
    '0:v',
    '-c',
    'copy',
    '-bsf:v',
    'h264_mp4toannexb',
    '-f',
    'h264',
    '-',
  ]);
  const hashes: string[] = [];
  const add = (from: number, to: number): void => {
    let end = to;
    while (end > from && stdout[end - 1] === 0) end -= 1;
    hashes.push(createHash('md5').update(stdout.subarray(from, end)).digest('hex'));
  };
  let start = -1;
  for (let i = 0; i + 2 < stdout.length; i += 1) {
    if (stdout[i] === 0 && stdout[i + 1] === 0 && stdout[i + 2] === 1) {
      if (start >= 0) add(start, i);
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) add(start, stdout.length);
  return hashes;
}

/** A real ffmpeg recorder in 1-second parts, with the FAKE upload queue recording what it is asked. */
async function segmentedStation(t: TestContext, autoUpload: boolean) {
  const dir = await tempDir(t);
  const db = openDatabase(path.join(dir, 'data', 'streamai.db'), stationMigrations);
  const uploads = new FakeUploadQueue();
  const manager = new RecordingManager({
    recorder: new FfmpegRecorder({ source: 'testsrc', segmentSeconds: 1 }),
    db,
    recordingsPath: path.join(dir, 'recordings'),
    uploads,
    autoUpload,
  });
  await manager.start();
  t.after(async () => {
    await manager.close();
    db.close();
  });
  return { dir, uploads, manager, recordingsPath: path.join(dir, 'recordings') };
}

test('each closed part goes to the recording’s one upload task while recording goes on; after Stop one joined file holds exactly the parts’ streams', async (t) => {
  const { uploads, manager, recordingsPath } = await segmentedStation(t, true);
  const started = await manager.startRecording('in parts');
  const deadline = Date.now() + 30_000;
  while (uploads.partCalls.filter((c) => c.call === 'add').length < 2 && Date.now() < deadline)
    await sleep(100);
  assert.equal(manager.status().recording, true, 'parts were handed over while still recording');
  const whileRecording = uploads.partCalls.filter((c) => c.call === 'add').length;
  assert.ok(whileRecording >= 2, `${whileRecording} parts sent while recording`);
  const partFiles = uploads.partCalls.flatMap((c) => (c.call === 'add' ? [c.filePath] : []));
  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));

  const calls = uploads.partCalls;
  assert.equal(calls[0]?.call, 'open');
  const taskId = calls[0]?.taskId;
  assert.equal(stopped.uploadTaskId, taskId, 'one recording, one task');
  const adds = calls.filter((c) => c.call === 'add');
  assert.deepEqual(
    adds.map((c) => c.index),
    adds.map((_, i) => i),
    'parts in order, each once',
  );
  assert.ok(adds.every((c) => c.taskId === taskId));
  const close = calls[calls.length - 1];
  assert.equal(close?.call, 'close');
  assert.ok(close?.call === 'close' && close.count === adds.length);
  assert.ok(close?.call === 'close' && close.joinedFilePath === stopped.filePath);
  assert.equal(uploads.tasks.size, 1, 'the file is not uploaded a second time');

  // One recording in the session folder; its parts (hidden) wait for the server.
  const folder = path.join(recordingsPath, 'in parts');
  const listed = (await readdir(folder)).sort();
  assert.deepEqual(
    listed,
    [
      '.segments',
      path.basename(stopped.thumbnailPath ?? ''),
      stopped.fileName,
      'session_metadata.json',
    ].sort(),
  );
  const parts = adds.map((c) => (c.call === 'add' ? c.filePath : ''));
  assert.deepEqual(parts.slice(0, partFiles.length), partFiles);
  const joined = await packetHashes(stopped.filePath ?? '');
  assert.ok((joined['video']?.length ?? 0) > 25 && (joined['audio']?.length ?? 0) > 25, 'both streams read');
  const ofParts: Record<string, string[]> = {};
  for (const part of await Promise.all(parts.map(packetHashes)))
    for (const [stream, hashes] of Object.entries(part)) (ofParts[stream] ??= []).push(...hashes);
  assert.deepEqual(
    joined,
    ofParts,
    'the joined file holds the parts’ H.264 NAL units and AAC packets, in order, byte for byte',
  );
  const sum = (await Promise.all(parts.map((p) => probeRecording(p)))).reduce((s, p) => s + p.duration, 0);
  assert.ok(Math.abs((stopped.duration ?? 0) - sum) <= 0.1, `joined ${stopped.duration} s, parts ${sum} s`);
  assert.equal(started.sourcePath, stopped.filePath, 'recorded straight into the session folder');

  // The server has it: the parts go, the recording stays.
  uploads.move(taskId ?? '', 'completed');
  for (let i = 0; i < 50 && (await readdir(folder)).includes('.segments'); i += 1) await sleep(50);
  // (The metadata may be being rewritten just then: its temporary file is not a recording.)
  assert.deepEqual(
    (await readdir(folder)).filter((n) => !/^\.session_metadata\.json\..*\.tmp$/.test(n)).sort(),
    listed.filter((n) => n !== '.segments'),
  );
});

test('without auto-upload the parts are joined after Stop and removed once the joined file is verified', async (t) => {
  const { uploads, manager, recordingsPath } = await segmentedStation(t, false);
  await manager.startRecording('joined only');
  await sleep(2500);
  const stopped = await manager.stopRecording();
  assert.equal(stopped.state, 'ready', JSON.stringify(stopped.error));
  assert.deepEqual(uploads.partCalls, []);
  const folder = path.join(recordingsPath, 'joined only');
  assert.deepEqual(
    (await readdir(folder)).sort(),
    [path.basename(stopped.thumbnailPath ?? ''), stopped.fileName, 'session_metadata.json'].sort(),
    'one file in the session folder',
  );
  assert.ok((stopped.duration ?? 0) > 0);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFile, mkdir, readFile, rename, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ffprobePath } from '../../src/media/index.js';
import {
  FfmpegRecorder,
  listSegmentFiles,
  type RecordingFinishedEvent,
  type RecordingSegmentEvent,
} from '../../src/recorder/index.js';
import { SEGMENT_LIST_FILE } from '../../src/recorder/segments.js';
import { SegmentWatcher } from '../../src/recorder/segment-watcher.js';
import { silentLogger } from '../../src/logging/index.js';
import { probeRecording } from '../../src/sessions/index.js';
import { joinSegments } from '../../src/sessions/join-segments.js';
import { makeClip } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);

/** Each stream's packet timestamps (pts, seconds) in file order: video is stream 0, audio 1. */
async function packetTimes(file: string): Promise<{ video: number[]; audio: number[] }> {
  const { stdout } = await run(
    ffprobePath,
    ['-v', 'error', '-show_entries', 'packet=stream_index,pts_time', '-of', 'csv=p=0', file],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const times = { video: [] as number[], audio: [] as number[] };
  for (const line of stdout.split('\n')) {
    const [stream, pts] = line.split(',');
    if (pts === undefined) continue;
    (stream === '0' ? times.video : times.audio).push(Number(pts));
  }
  return times;
}

type Seen = { kind: 'open' | 'closed'; index: number; path: string };

test('encoded parts are MPEG-TS, each announced open once before it closes; a copy of an open part is a prefix of the closed part; the join keeps A/V in step', async (t) => {
  const dir = await tempDir(t);
  const recorder = new FfmpegRecorder({ source: 'testsrc', segmentSeconds: 1 });
  t.after(() => recorder.close());
  const seen: Seen[] = [];
  const closed = new Set<number>();
  const snapshots: Array<{ index: number; bytes: Buffer }> = [];
  // Copies an open part again and again while it grows, as an uploader streaming it would read it.
  const follow = async (part: RecordingSegmentEvent) => {
    for (let i = 0; i < 300 && !closed.has(part.index); i += 1) {
      snapshots.push({ index: part.index, bytes: await readFile(part.path) });
      await sleep(50);
    }
  };
  const following: Promise<void>[] = [];
  recorder.on('segment-open', (s) => {
    seen.push({ kind: 'open', index: s.index, path: s.path });
    following.push(follow(s));
  });
  recorder.on('segment', (s) => {
    seen.push({ kind: 'closed', index: s.index, path: s.path });
    closed.add(s.index);
  });
  await recorder.startRecording({ directory: dir, baseName: 'streamed' });
  const deadline = Date.now() + 30_000;
  while (closed.size < 2 && Date.now() < deadline) await sleep(100);
  const finished = await recorder.stopRecording();
  await Promise.all(following);

  const parts = finished.segments ?? [];
  assert.ok(parts.length >= 2, `${parts.length} parts`);
  for (const part of parts) assert.match(path.basename(part), /^part\d{5}\.ts$/);
  assert.deepEqual(
    await listSegmentFiles(finished.outputPath),
    parts,
    'found again on disk as after a crash',
  );
  const opens = seen.filter((s) => s.kind === 'open');
  assert.deepEqual(
    opens.map((s) => s.index),
    parts.map((_, i) => i),
    'every part announced open once, in order',
  );
  for (const [i, part] of parts.entries()) {
    const ofPart = seen.filter((s) => s.index === i);
    assert.deepEqual(
      ofPart.map((s) => s.kind),
      ['open', 'closed'],
      `part ${i}: open, then closed`,
    );
    assert.ok(ofPart.every((s) => s.path === part));
  }

  // Append-only: whatever was read of a part while it grew is the start of the closed part.
  let growing = 0;
  for (const { index, bytes } of snapshots) {
    const final = await readFile(parts[index] ?? '');
    assert.ok(
      final.subarray(0, bytes.length).equals(bytes),
      `part ${index}: a ${bytes.length}-byte copy is a prefix`,
    );
    if (bytes.length > 0 && bytes.length < final.length) growing += 1;
  }
  assert.ok(growing > 0, `copies taken while a part grew (${snapshots.length} copies)`);

  const probes = await Promise.all(parts.map((p) => probeRecording(p)));
  for (const probe of probes) {
    assert.equal(probe.technical.container, 'mpegts');
    assert.equal(probe.technical.video?.codec, 'h264');
    assert.equal(probe.technical.audio?.codec, 'aac');
  }

  // Joined losslessly into Matroska: every packet of every part, each part's streams in the
  // same step as in the part (the gap between its first video and first audio packet).
  const joinedPath = path.join(dir, 'joined.mkv');
  const joined = await joinSegments(parts, joinedPath);
  assert.equal(joined.parts.length, parts.length);
  // As long as its parts to the millisecond Matroska keeps (a server checks within one frame).
  assert.ok(
    Math.abs(joined.joinedDuration - joined.partsDuration) <= 0.002,
    `joined ${joined.joinedDuration} s, parts ${joined.partsDuration} s`,
  );
  const probe = await probeRecording(joinedPath);
  assert.match(probe.technical.container ?? '', /matroska/);
  assert.equal(probe.technical.video?.codec, 'h264');
  assert.equal(probe.technical.audio?.codec, 'aac');
  const all = await packetTimes(joinedPath);
  let [v, a] = [0, 0];
  for (const [i, part] of parts.entries()) {
    const own = await packetTimes(part);
    const inPart = (own.video[0] ?? 0) - (own.audio[0] ?? 0);
    const inJoin = (all.video[v] ?? 0) - (all.audio[a] ?? 0);
    // Matroska keeps milliseconds: two roundings.
    assert.ok(
      Math.abs(inPart - inJoin) <= 0.002,
      `part ${i}: A/V ${inPart} s in the part, ${inJoin} s joined`,
    );
    [v, a] = [v + own.video.length, a + own.audio.length];
  }
  assert.deepEqual([all.video.length, all.audio.length], [v, a], 'no packet lost or added');

  // A crash cuts the last part short: it is still read up to the cut and joined; a last part
  // with nothing readable is left out.
  const crash = path.join(dir, 'crash');
  await mkdir(crash);
  const copies = parts.map((p) => path.join(crash, path.basename(p)));
  await Promise.all(parts.map((p, i) => copyFile(p, copies[i] ?? '')));
  const last = copies[copies.length - 1] ?? '';
  await truncate(last, Math.floor((await readFile(last)).length / 2) + 77);
  const cut = await joinSegments(copies, path.join(crash, 'cut.mkv'));
  assert.equal(cut.parts.length, copies.length, 'the cut part is kept');
  const intact = probes.slice(0, -1).reduce((sum, p) => sum + p.duration, 0);
  assert.ok(cut.joinedDuration > intact, `${cut.joinedDuration} s joined, ${intact} s before the cut part`);
  await truncate(last, 100);
  const without = await joinSegments(copies, path.join(crash, 'without.mkv'));
  assert.deepEqual(without.parts, copies.slice(0, -1), 'an unreadable last part is left out');
});

test('a url: (copied) source keeps Matroska parts and announces none open', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip(path.join(dir, 'live input.mkv'), { seconds: 2, format: 'matroska' });
  const recorder = new FfmpegRecorder({ source: `url:${input}`, segmentSeconds: 1 });
  t.after(() => recorder.close());
  const opened: RecordingSegmentEvent[] = [];
  const closed: RecordingSegmentEvent[] = [];
  recorder.on('segment-open', (s) => opened.push(s));
  recorder.on('segment', (s) => closed.push(s));
  const finishedEvent = once(recorder, 'finished') as Promise<[RecordingFinishedEvent]>;
  await recorder.startRecording({ directory: path.join(dir, 'out'), baseName: 'stream' });
  const [finished] = await finishedEvent;
  const parts = finished.segments ?? [];
  assert.ok(parts.length >= 1);
  assert.deepEqual(
    closed.map((s) => s.path),
    parts,
  );
  for (const part of parts) {
    assert.match(path.basename(part), /^part\d{5}\.mkv$/);
    assert.match((await probeRecording(part)).technical.container ?? '', /matroska/);
  }
  assert.deepEqual(opened, [], 'Matroska parts are rewritten on close: never sent while open');
});

test('the watcher: a part that opens while another closes, or opens and closes between two looks, is announced open once, before its close; none opens after ffmpeg exited', async (t) => {
  const dir = await tempDir(t);
  const watcher = new SegmentWatcher(path.join(dir, 'rec.mkv'), silentLogger(), 'mpegts');
  await watcher.prepare();
  const file = (i: number) => path.join(watcher.folder, `part0000${i}.ts`);
  const list = path.join(watcher.folder, SEGMENT_LIST_FILE);
  const seen: string[] = [];
  const until = async (count: number) => {
    for (let i = 0; i < 200 && seen.length < count; i += 1) await sleep(20);
    assert.ok(seen.length >= count, `${seen.join(' ')}: waited for ${count} events`);
  };
  await writeFile(file(0), '');
  watcher.watch(
    (s) => seen.push(`closed ${s.index}`),
    (s) => seen.push(`open ${s.index}`),
  );
  await until(1);
  // Part 0 closes and parts 1 and 2 open, part 1 closing too, all before the next look.
  await writeFile(file(1), 'x');
  await writeFile(file(2), '');
  await writeFile(list, 'part00000.ts,0,1\npart00001.ts,1,2\n');
  await until(4);
  // ffmpeg is killed just after opening part 3: part 2 closed, part 3 never announced. (The
  // list is replaced in one rename, so a look can come between the two steps only in the
  // moment before finish() runs.)
  await writeFile(file(3), 'x');
  await writeFile(`${list}.new`, 'part00000.ts,0,1\npart00001.ts,1,2\npart00002.ts,2,3\n');
  await rename(`${list}.new`, list);
  assert.deepEqual(await watcher.finish(), [file(0), file(1), file(2)]);
  assert.deepEqual(seen, ['open 0', 'closed 0', 'open 1', 'closed 1', 'open 2', 'closed 2']);
});

test('the watcher: an MPEG-TS part announced open that ffmpeg never closed (killed) is kept as the last part and reported closed; an empty one is not', async (t) => {
  const dir = await tempDir(t);
  for (const [bytes, expected] of [
    ['some packets', ['open 0', 'closed 0']],
    ['', ['open 0']],
  ] as const) {
    const watcher = new SegmentWatcher(path.join(dir, `rec-${bytes.length}.mkv`), silentLogger(), 'mpegts');
    await watcher.prepare();
    const file = path.join(watcher.folder, 'part00000.ts');
    await writeFile(file, '');
    const seen: string[] = [];
    watcher.watch(
      (s) => seen.push(`closed ${s.index}`),
      (s) => seen.push(`open ${s.index}`),
    );
    for (let i = 0; i < 200 && seen.length < 1; i += 1) await sleep(20);
    await writeFile(file, bytes);
    // ffmpeg is killed: no segment list line for part 0.
    assert.deepEqual(await watcher.finish(), bytes ? [file] : []);
    assert.deepEqual(seen, expected);
  }
});

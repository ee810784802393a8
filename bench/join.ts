/**
 * `npm run bench:join`: the server's join of a long recording's parts (what is left after Stop
 * once every part is on the server, issue 11's "plus the join time"), against a bare ffmpeg
 * concat of the same parts, in one run.
 *
 * Makes BENCH_JOIN_PARTS (default 180: three hours at the default 60-s parts) MPEG-TS parts of
 * BENCH_JOIN_PART_SECONDS (default 2; a part's probe cost is its ffprobe start, not its length)
 * the way the ffmpeg recorder cuts them (segment muxer, keyframe at each boundary, timestamps
 * from 0, one AAC frame per PES), 320x240 video and 48 kHz AAC. Then, BENCH_JOIN_RUNS times
 * (default 2), interleaved: the bare `ffmpeg -f concat -c copy` of the parts (the reference:
 * what any lossless join must do), and `joinParts` (every part probed, the concat, the joined
 * file probed and its duration checked against the sum of the parts'), then `joinParts` again
 * after every part was probed as it arrived (`probeAhead`, what the server does for parts on
 * local disk). Best of the runs kept.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { joinParts, probeAhead } from '../src/ingest/recording-join.js';
import { ffmpegPath } from '../src/media/index.js';

const run = promisify(execFile);
const PARTS = Number(process.env.BENCH_JOIN_PARTS ?? 180);
const PART_SECONDS = Number(process.env.BENCH_JOIN_PART_SECONDS ?? 2);
const RUNS = Number(process.env.BENCH_JOIN_RUNS ?? 2);

async function makeParts(dir: string): Promise<string[]> {
  const seconds = PARTS * PART_SECONDS;
  await run(ffmpegPath, [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc=size=320x240:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-force_key_frames', `expr:gte(t,n_forced*${PART_SECONDS})`,
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'segment', '-segment_time', String(PART_SECONDS), '-segment_format', 'mpegts',
    '-segment_format_options', 'flush_packets=1:pes_payload_size=0', '-reset_timestamps', '1',
    path.join(dir, 'part%05d.ts'),
  ]); // prettier-ignore
  const parts = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  return parts.map((f) => path.join(dir, f));
}

async function bareConcat(parts: string[], dir: string): Promise<void> {
  const list = path.join(dir, 'bare.ffconcat');
  await writeFile(list, `ffconcat version 1.0\n${parts.map((p) => `file '${p}'`).join('\n')}\n`);
  await run(ffmpegPath, [
    '-hide_banner', '-v', 'error', '-f', 'concat', '-safe', '0', '-i', list,
    '-map', '0', '-c', 'copy', '-y', path.join(dir, 'bare.ts'),
  ]); // prettier-ignore
  await rm(path.join(dir, 'bare.ts'));
}

async function timed(what: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await what();
  return (performance.now() - started) / 1000;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'streamai-bench-join-'));
  try {
    const partsDir = path.join(work, 'parts');
    await run('mkdir', [partsDir]);
    console.log(`making ${PARTS} parts of ${PART_SECONDS} s…`);
    const parts = await makeParts(partsDir);
    let bare = Infinity;
    let ours = Infinity;
    let early = Infinity;
    let measured: Awaited<ReturnType<typeof joinParts>> | undefined;
    for (let r = 1; r <= RUNS; r++) {
      const b = await timed(() => bareConcat(parts, work));
      const out = path.join(work, 'joined.ts');
      const o = await timed(async () => {
        measured = await joinParts(parts, out, path.join(work, 'list.ffconcat'));
      });
      await rm(out);
      // As on the server: every part probed as it arrived, long before Stop.
      await Promise.all(parts.map((part) => probeAhead(part)));
      const a = await timed(() => joinParts(parts, out, path.join(work, 'list.ffconcat')));
      await rm(out);
      console.log(
        `run ${r}: bare concat ${b.toFixed(2)} s, joinParts ${o.toFixed(2)} s, after probeAhead ${a.toFixed(2)} s`,
      );
      bare = Math.min(bare, b);
      ours = Math.min(ours, o);
      early = Math.min(early, a);
    }
    console.log(`\n${parts.length} parts (${availableParallelism()} cores), best of ${RUNS}:`);
    console.log(`| join | seconds | vs bare concat |\n|---|---:|---:|`);
    console.log(`| bare \`ffmpeg -f concat -c copy\` | ${bare.toFixed(2)} | 1.00× |`);
    console.log(
      `| \`joinParts\` (probe every part, concat, probe and check) | ${ours.toFixed(2)} | ${(ours / bare).toFixed(2)}× |`,
    );
    console.log(
      `| \`joinParts\`, every part probed as it arrived (\`probeAhead\`, as the server does) | ${early.toFixed(2)} | ${(early / bare).toFixed(2)}× |`,
    );
    console.log(
      `joined ${measured?.durationSeconds.toFixed(3)} s, parts ${measured?.partsSeconds.toFixed(3)} s (tolerance ${measured?.toleranceSeconds.toFixed(3)} s)`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();

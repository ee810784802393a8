import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { AAC_FRAME, type AudioPackets } from './video-packets.js';

/**
 * The audio side of the smart cut: AAC packets are copied between the cuts and only a short window
 * around each cut is re-encoded.
 *
 * Why it is not sample-exact: AAC comes in frames of 1024 samples, and a copied packet can only sit
 * on the edit's frame grid. Each kept range's copied packets are therefore moved by its `shift`
 * (at most half a frame: 512 samples, 10.7 ms at 48 kHz, less than a frame of 30 or 60 fps video)
 * to land on the grid; the window at each cut absorbs the difference in the silent pad there.
 *
 * Why the windows join cleanly: an AAC packet decodes to the overlap of its transform block with
 * the previous packet's. So the window around a cut is encoded from two frames before its first
 * packet (pre-roll, dropped) to two frames after its last (post-roll, dropped): its blocks at both
 * edges then carry the same signal as the copied neighbours they overlap. A copied packet next to
 * a window must have its whole block inside its kept range.
 */

/** One stretch of the edited audio, in edit order. */
export type AudioSegment =
  | { kind: 'copy'; first: number; last: number }
  | {
      kind: 'encode';
      /** Stretches of the decoded source (sample numbers, [start, end)) fed to the encoder in turn. */
      inputs: Array<{ start: number; end: number }>;
      /** Index of the first encoded packet kept (the encoder's own priming packet is index 0). */
      keepFrom: number;
      /** Packets kept from there; null: all the rest (the window that ends the edit). */
      keepCount: number | null;
      /** Samples of the edit this window makes (for progress and the report). */
      samples: number;
    };

export interface AudioCutPlan {
  sampleRate: number;
  segments: AudioSegment[];
  /** The largest move of a kept range's audio against its video, in samples. */
  maxShiftSamples: number;
}

// Frames of signal the encoder gets before and after a window beyond what is kept (see above).
const ROLL = 2 * AAC_FRAME;

/**
 * Plans the audio of a smart cut over video-exact kept ranges (seconds of the source, in order),
 * or says why the audio must be re-encoded whole.
 */
export function planAudioCut(
  ranges: Array<{ start: number; end: number }>,
  duration: number,
  audio: AudioPackets | null,
): { ok: true; plan: AudioCutPlan } | { ok: false; reason: string } {
  if (!audio) return { ok: false, reason: 'no audio packets' };
  if (audio.codec !== 'aac' || (audio.profile !== 'LC' && audio.profile !== null))
    return { ok: false, reason: `audio ${audio.codec} ${audio.profile ?? ''} (only AAC-LC is copied)` };
  if (!audio.contiguous) return { ok: false, reason: 'audio packets with gaps or odd durations' };
  if (audio.channels < 1 || audio.channels > 8) return { ok: false, reason: 'audio channel layout' };
  const N = AAC_FRAME;
  const R = audio.sampleRate;
  const p0 = audio.firstPts;
  const audioEnd = p0 + audio.count * N;
  const n = ranges.length;
  // Where each range starts in the edit's video (samples), and the move onto the packet grid.
  const outStart: number[] = [];
  let cumulative = 0;
  for (const r of ranges) {
    outStart.push(Math.round(cumulative * R));
    cumulative += r.end - r.start;
  }
  const srcStart = ranges.map((r) => Math.round(r.start * R));
  const shift = ranges.map((_, i) => {
    const m = mod((srcStart[i] ?? 0) - (outStart[i] ?? 0) - p0, N);
    return m >= N / 2 ? m - N : m;
  });
  // Range i's audio plays at edit [join[i], join[i+1]) from the source at audioStart[i]: the first
  // range starts at the edit's start, the others at their (moved) place.
  const join = ranges.map((_, i) => (i === 0 ? 0 : (outStart[i] ?? 0) + (shift[i] ?? 0)));
  const audioStart = ranges.map((_, i) => (srcStart[i] ?? 0) - (i === 0 ? (shift[0] ?? 0) : 0));
  const toEnd = (ranges[n - 1]?.end ?? 0) >= duration - 0.001;
  const last = n - 1;
  const contentEnd = toEnd
    ? audioEnd - (audioStart[last] ?? 0) + (join[last] ?? 0)
    : Math.round(cumulative * R);
  join.push(contentEnd);
  for (let i = 0; i < n; i += 1) {
    if ((join[i + 1] ?? 0) <= (join[i] ?? 0))
      return { ok: false, reason: 'a kept range shorter than the audio grid allows' };
  }

  // Copied packets per range: the whole block inside the range (block of packet k: [p_k, p_k + 2N)).
  const runs: Array<{ first: number; last: number; at: number }> = [];
  ranges.forEach((_, i) => {
    const s = audioStart[i] ?? 0;
    const e = s + (join[i + 1] ?? 0) - (join[i] ?? 0);
    // At the file's start the source's priming packet (block [-N, N)) comes along.
    const from = i === 0 && srcStart[0] === 0 ? s - N : s;
    const first = Math.max(0, Math.ceil((from - p0) / N));
    const lastK =
      i === last && toEnd ? audio.count - 1 : Math.min(audio.count - 1, Math.floor((e - 2 * N - p0) / N));
    if (lastK < first) return;
    const at = p0 + first * N - s + (join[i] ?? 0);
    runs.push({ first, last: lastK, at });
  });

  // The edit, packet by packet: windows fill what the copied runs leave, from the priming packet
  // (edit time -N) to the end.
  const segments: AudioSegment[] = [];
  let cursor = -N;
  const window = (from: number, to: number | null): void => {
    const inStart = from === -N ? 0 : from - Math.min(ROLL, from);
    const inEnd = to === null ? contentEnd : Math.min(to + ROLL, contentEnd);
    const inputs: Array<{ start: number; end: number }> = [];
    for (let i = 0; i < n; i += 1) {
      const lo = Math.max(inStart, join[i] ?? 0);
      const hi = Math.min(inEnd, join[i + 1] ?? 0);
      if (hi > lo)
        inputs.push({
          start: (audioStart[i] ?? 0) + lo - (join[i] ?? 0),
          end: (audioStart[i] ?? 0) + hi - (join[i] ?? 0),
        });
    }
    segments.push({
      kind: 'encode',
      inputs,
      keepFrom: (from - inStart) / N + 1,
      keepCount: to === null ? null : (to - from) / N,
      samples: (to ?? contentEnd) - Math.max(0, from),
    });
  };
  for (const run of runs) {
    if (run.at > cursor) window(cursor, run.at);
    segments.push({ kind: 'copy', first: run.first, last: run.last });
    cursor = run.at + (run.last - run.first + 1) * N;
  }
  const lastRun = runs[runs.length - 1];
  if (!lastRun || !toEnd || lastRun.last < audio.count - 1) window(cursor, null);
  // The windows are cut out of the decoded audio by sample count, which starts at firstSample.
  for (const segment of segments) {
    if (segment.kind !== 'encode') continue;
    if (segment.inputs.some((r) => r.start < audio.firstSample))
      return { ok: false, reason: 'the audio starts after the first kept picture' };
    segment.inputs = segment.inputs.map((r) => ({
      start: r.start - audio.firstSample,
      end: r.end - audio.firstSample,
    }));
  }
  return {
    ok: true,
    plan: { sampleRate: R, segments, maxShiftSamples: Math.max(...shift.map(Math.abs)) },
  };
}

/**
 * The filter graph that feeds one encoder with every window back to back (`[aw]`), from one decode
 * of the source's audio (`[<input>:a:0]`); null when nothing is re-encoded. Each window but the
 * last is a whole number of frames long, so the encoder's packets fall on the windows' own grids
 * and each window's kept packets can be counted out of the one stream (see windowPackets). Trims
 * count samples, not timestamps: exact even where the container's clock is coarse.
 */
export function audioWindowGraph(plan: AudioCutPlan, input: number): string | null {
  const pieces = plan.segments.flatMap((s) => (s.kind === 'encode' ? s.inputs : []));
  if (pieces.length === 0) return null;
  const chains = [`[${input}:a:0]asplit=${pieces.length}${pieces.map((_, i) => `[as${i}]`).join('')}`];
  pieces.forEach(({ start, end }, i) => {
    chains.push(`[as${i}]atrim=start_sample=${start}:end_sample=${end},asetpts=PTS-STARTPTS[ap${i}]`);
  });
  chains.push(`${pieces.map((_, i) => `[ap${i}]`).join('')}concat=n=${pieces.length}:v=0:a=1[aw]`);
  return chains.join(';\n');
}

/** Which packets of the one windows encode each window keeps: [from, to), to null = to the end. */
export function windowPackets(plan: AudioCutPlan): Array<{ from: number; to: number | null }> {
  const kept: Array<{ from: number; to: number | null }> = [];
  let offset = 0; // packets of the windows before this one
  for (const s of plan.segments) {
    if (s.kind !== 'encode') continue;
    const from = offset + s.keepFrom;
    kept.push({ from, to: s.keepCount === null ? null : from + s.keepCount });
    offset += s.inputs.reduce((sum, r) => sum + r.end - r.start, 0) / AAC_FRAME;
  }
  return kept;
}

/** Byte offsets of the frames of an ADTS file (the last entry is the file's length). */
export async function adtsFrameOffsets(file: string): Promise<number[]> {
  const offsets: number[] = [];
  let at = 0; // where the next frame starts
  let pos = 0; // where buf starts
  let buf: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    buf = buf.length > 0 ? Buffer.concat([buf, chunk as Buffer]) : (chunk as Buffer);
    while (at + 7 <= pos + buf.length) {
      const h = buf.subarray(at - pos, at - pos + 7);
      if (h[0] !== 0xff || ((h[1] ?? 0) & 0xf6) !== 0xf0) throw new Error(`ADTS sync lost at byte ${at}`);
      if (((h[6] ?? 0) & 0x03) !== 0) throw new Error('ADTS frames of several raw blocks');
      const length = (((h[3] ?? 0) & 0x03) << 11) | ((h[4] ?? 0) << 3) | ((h[5] ?? 0) >> 5);
      if (length < 7) throw new Error(`bad ADTS frame length at byte ${at}`);
      offsets.push(at);
      at += length;
    }
    if (at >= pos + buf.length) {
      pos += buf.length;
      buf = Buffer.alloc(0);
    } else {
      buf = buf.subarray(at - pos);
      pos = at;
    }
  }
  if (at !== pos + buf.length) throw new Error('ADTS stream ends inside a frame');
  offsets.push(at);
  return offsets;
}

/**
 * Writes the edit's audio as one ADTS stream: the source's packets for each copied run, the kept
 * packets of each window out of the one encode of them all (`windows`, see audioWindowGraph).
 */
export async function assembleAdts(
  plan: AudioCutPlan,
  source: string,
  windows: string | null,
  output: string,
): Promise<void> {
  const offsets = await adtsFrameOffsets(source);
  const encoded = windows ? await readFile(windows) : Buffer.alloc(0);
  const encodedFrames = windows ? await adtsFrameOffsets(windows) : [0];
  const keep = windowPackets(plan);
  const from = await open(source, 'r');
  const out = await open(output, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let w = 0;
    for (const segment of plan.segments) {
      if (segment.kind === 'copy') {
        const start = offsets[segment.first];
        const end = offsets[segment.last + 1];
        if (start === undefined || end === undefined) throw new Error('copied audio packets missing');
        for (let at = start; at < end;) {
          const { bytesRead } = await from.read(chunk, 0, Math.min(chunk.length, end - at), at);
          if (bytesRead === 0) throw new Error('source audio ended early');
          await out.write(chunk, 0, bytesRead);
          at += bytesRead;
        }
        continue;
      }
      const packets = keep[w];
      w += 1;
      const last = encodedFrames.length - 1;
      const stop = packets?.to ?? last;
      const start = packets ? encodedFrames[packets.from] : undefined;
      const end = encodedFrames[stop];
      if (start === undefined || end === undefined || stop > last)
        throw new Error(`the audio windows have ${last} packets, ${stop} needed`);
      await out.write(encoded.subarray(start, end));
    }
  } finally {
    await out.close();
    await from.close();
  }
}

function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

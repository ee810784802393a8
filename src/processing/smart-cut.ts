import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import type { MediaInfo } from './probe-step.js';
import { AAC_FRAME, type VideoPackets } from './video-packets.js';
import { assembleAdts, audioWindowGraph, planAudioCut, type AudioCutPlan } from './audio-cut.js';

/** A stretch of the edit: copied from the source as it is, or re-encoded. Seconds, frame-exact. */
export interface Piece {
  kind: 'copy' | 'encode';
  start: number;
  end: number;
}

/** A kept range snapped to the source's frames: [start, end) covers whole frames. */
export interface SnappedRange {
  start: number;
  end: number;
}

/** What the smart cut plans to do, or why it cannot. */
export type SmartCutPlan =
  { ok: true; ranges: SnappedRange[]; pieces: Piece[] } | { ok: false; reason: string };

// Encoders this cut can match: H.264 via libx264, 8-bit 4:2:0 (what recorders and browsers use).
const X264_PROFILES: Record<string, string> = {
  'Constrained Baseline': 'baseline',
  Baseline: 'baseline',
  Main: 'main',
  High: 'high',
};
const PIXEL_FORMATS = new Set(['yuv420p', 'yuvj420p']);

// The re-encoded pieces carry their own parameter sets in-band under this id, so that they never
// replace the source's (id 0 in practice), which the copied pieces keep using from the track header.
const PIECE_SPS_ID = 5;

// Sources opened by one encode run: each holds the file's index (a 3-hour MP4: tens of MiB), and
// each run start costs a process and encoder set-up. Twelve: six cuts' tails and heads.
const MAX_RUN_INPUTS = 12;

/**
 * Plans a smart cut: each kept range is snapped to the source's frames, then split into a head
 * re-encoded from its first frame to the next keyframe, the whole GOPs after it copied as they
 * are, and a tail re-encoded from the last keyframe to the range's end (needed because a copy
 * cannot end mid-GOP when frames are reordered). A range with no keyframe inside is re-encoded
 * whole. Sources this cannot match say why, and the edit falls back to a full re-encode.
 */
export function planSmartCut(
  kept: Array<{ start: number; end: number }>,
  media: MediaInfo,
  video: VideoPackets,
): SmartCutPlan {
  if (video.codec !== 'h264')
    return { ok: false, reason: `video codec ${video.codec} (only H.264 is smart-cut)` };
  if (!video.profile || !X264_PROFILES[video.profile])
    return { ok: false, reason: `H.264 profile ${video.profile ?? 'unknown'} cannot be matched` };
  if (!PIXEL_FORMATS.has(video.pixelFormat ?? ''))
    return { ok: false, reason: `pixel format ${video.pixelFormat ?? 'unknown'}` };
  if (video.openGop)
    return { ok: false, reason: 'open GOPs (frames reference the previous keyframe interval)' };
  if (video.keyframes.length === 0 || video.frames.length === 0)
    return { ok: false, reason: 'no keyframes found' };
  // The split and join assume the picture starts with the file. The edit step moves a picture
  // that starts a little late (Matroska written by ffmpeg: 21 ms) to the start; a later one stays.
  const first = video.frames[0] ?? 0;
  if (first > 0.001)
    return { ok: false, reason: `the picture starts ${first.toFixed(3)} s after the file's start` };
  const streamTypes = media.streams.filter((s) => s.type === 'video' || s.type === 'audio');
  if (streamTypes.filter((s) => s.type === 'video').length > 1)
    return { ok: false, reason: 'more than one video stream' };

  const end = media.durationSeconds;
  const frames = video.frames;
  const ranges: SnappedRange[] = [];
  const pieces: Piece[] = [];
  for (const r of kept) {
    const start = firstAtOrAfter(frames, r.start);
    if (start === undefined) continue;
    // The range's end is exclusive: the first frame not kept, or the end of the file.
    const stop = r.end >= end - 0.001 ? end : (firstAtOrAfter(frames, r.end) ?? end);
    if (stop <= start) continue;
    ranges.push({ start, end: stop });
    const copyFrom = firstAtOrAfter(video.keyframes, start);
    const copyTo = stop === end ? end : lastAtOrBefore(video.keyframes, stop);
    if (copyFrom === undefined || copyTo === undefined || copyTo <= copyFrom) {
      pieces.push({ kind: 'encode', start, end: stop });
      continue;
    }
    if (copyFrom > start) pieces.push({ kind: 'encode', start, end: copyFrom });
    pieces.push({ kind: 'copy', start: copyFrom, end: copyTo });
    if (copyTo < stop) pieces.push({ kind: 'encode', start: copyTo, end: stop });
  }
  if (ranges.length === 0) return { ok: false, reason: 'nothing left to keep' };
  return { ok: true, ranges, pieces };
}

/**
 * Runs a plan in three ffmpeg runs. 1: one stream-copy pass splits the source's video at the copy
 * boundaries (segment muxer, at keyframes), keeps its first frame for the track header and copies
 * its audio packets out as ADTS. 2: one run encodes every head and tail with libx264 matching the
 * source (profile, level, size, pixel format; in-band parameter sets under their own id) and every
 * audio window around a cut (see audio-cut.ts), each piece single-threaded: they are a few dozen
 * frames, too short for threads to pay for their start and synchronisation. 3: the video pieces
 * are joined as they are (concat demuxer, no bitstream conversion, so copied packets stay byte for
 * byte) with the audio assembled from copied and re-encoded AAC packets. When the audio cannot be
 * copied (not AAC-LC, irregular packets) it is cut with atrim at the same frame-exact times and
 * encoded whole in the join instead.
 */
export async function runSmartCut(
  input: string,
  output: string,
  media: MediaInfo,
  video: VideoPackets,
  plan: { ranges: SnappedRange[]; pieces: Piece[] },
  limits: RunLimits,
): Promise<SmartCutResult> {
  const work = await mkdtemp(path.join(path.dirname(output), '.smart-cut-'));
  const frame = typicalFrameDuration(video.frames);
  // A quarter frame before each boundary: far enough to survive rounding, never the previous frame.
  const margin = frame / 4;
  const total = media.durationSeconds;
  const encodeSeconds = plan.pieces
    .filter((p) => p.kind === 'encode')
    .reduce((s, p) => s + p.end - p.start, 0);
  const keptSeconds = plan.ranges.reduce((s, r) => s + r.end - r.start, 0);
  const audioCut = media.audio ? planAudioCut(plan.ranges, total, video.audio) : null;
  const audioPlan = audioCut?.ok ? audioCut.plan : null;
  // Rough shares of the work: the split pass reads everything, encodes are slow, the join is cheap.
  const weights = { split: total * 0.05, encode: encodeSeconds + 0.1, join: keptSeconds * 0.1 };
  const sum = weights.split + weights.encode + weights.join || 1;
  let done = 0;
  const phase = (weight: number) => (f: number) =>
    limits.onProgress?.(Math.min(1, (done + f * weight) / sum));
  const finish = (weight: number): void => {
    done += weight;
  };
  try {
    // 1. Split the source's video at the copy boundaries, without decoding; the header frame; the
    // audio packets as ADTS (a stream of self-delimiting frames that can be counted and copied).
    const cuts = [...new Set(plan.pieces.filter((p) => p.kind === 'copy').flatMap((p) => [p.start, p.end]))]
      // No split at the first frame: in a file whose picture starts late (Matroska from OBS: the
      // audio's priming moves the video to 21 ms) that would make an empty first segment.
      .filter((t) => t > (video.frames[0] ?? 0) + margin && t < total)
      .sort((a, b) => a - b);
    const copies = plan.pieces.some((p) => p.kind === 'copy');
    // The track header must be the source's (the copied pieces need its parameter sets): a first
    // entry of one source frame that the concat demuxer opens but outputs nothing of.
    const header = path.join(work, 'header.mkv');
    const sourceAudio = path.join(work, 'source.aac');
    const split = ['-v', 'error', '-i', input];
    split.push('-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', 'matroska', header);
    if (copies) {
      split.push('-map', '0:v:0', '-c', 'copy', '-f', 'segment');
      if (cuts.length > 0) split.push('-segment_times', cuts.map((t) => (t - margin).toFixed(6)).join(','));
      split.push('-segment_format', 'matroska', path.join(work, 'seg%05d.mkv'));
    }
    if (audioPlan) split.push('-map', '0:a:0', '-c', 'copy', '-f', 'adts', sourceAudio);
    await runFfmpeg(split, { ...limits, onProgress: phase(weights.split), durationSeconds: total });
    finish(weights.split);
    const segments = copies ? (await readdir(work)).filter((n) => n.startsWith('seg')).sort() : [];
    const edges = [0, ...cuts, total];

    // 2. Encode the heads and tails, and the audio windows: one run per MAX_RUN_INPUTS sources
    // (each input holds the file's index in memory), the audio windows in the first.
    const list: string[] = [entry(header, 0, 0)];
    const runs: Array<{
      inputs: string[];
      count: number;
      chains: string[];
      outputs: string[];
      seconds: number;
    }> = [];
    const runFor = (inputs: number): (typeof runs)[number] => {
      const current = runs[runs.length - 1];
      if (current && current.count + inputs <= MAX_RUN_INPUTS) return current;
      const next = { inputs: [], count: 0, chains: [], outputs: [], seconds: 0 };
      runs.push(next);
      return next;
    };
    let n = 0;
    // A piece of one picture is encoded alone: the concat filter takes a segment's length from
    // the mean gap between its pictures, so the next piece would overlap a one-picture one.
    const single = (p: Piece): boolean => framesIn(video.frames, p.start, p.end) < 2;
    for (const group of groupPieces(plan.pieces, single)) {
      if (group.kind === 'copy') {
        for (const piece of group.pieces) {
          for (let j = 0; j < edges.length - 1; j += 1) {
            const a = edges[j] ?? 0;
            const b = edges[j + 1] ?? total;
            if (a >= piece.start - margin && b <= piece.end + margin) {
              const name = segments[j];
              if (!name) throw new Error(`segment ${j} missing after the split`);
              list.push(entry(path.join(work, name), b - a));
            }
          }
        }
        continue;
      }
      // Encoded pieces next to each other in the edit (a range's tail and the next one's head)
      // are one encode: each is read with its own accurate seek and they are joined in the graph.
      const seconds = group.pieces.reduce((s, p) => s + p.end - p.start, 0);
      const file = path.join(work, `enc${String((n += 1)).padStart(5, '0')}.mkv`);
      const run = runFor(group.pieces.length);
      const labels = group.pieces.map((p) => {
        const index = run.count;
        run.count += 1;
        // A piece that starts on a keyframe (every tail) is read from there: an accurate seek to
        // just before it would decode the whole previous keyframe interval only to drop it.
        const onKey = firstAtOrAfter(video.keyframes, p.start) === p.start;
        const seek = onKey
          ? ['-noaccurate_seek', '-ss', (p.start + margin).toFixed(6)]
          : ['-ss', (p.start - margin).toFixed(6)];
        // The duration counts from the first frame read, so it ends a margin short of the next
        // piece's first frame (in millisecond clocks that frame may sit 0.3 ms early).
        seek.push('-t', (p.end - p.start - (onKey ? margin : 0)).toFixed(6));
        run.inputs.push('-threads', '1', ...seek, '-i', input);
        run.chains.push(`[${index}:v:0]setpts=PTS-STARTPTS[v${index}]`);
        return `[v${index}]`;
      });
      run.chains.push(`${labels.join('')}concat=n=${labels.length}:v=1:a=0[venc${n}]`);
      run.outputs.push('-map', `[venc${n}]`, ...matchingEncoder(video), '-f', 'matroska', file);
      run.seconds += seconds;
      list.push(entry(file, seconds));
    }
    const windows = path.join(work, 'windows.aac');
    const first = runs[0] ?? runFor(0);
    const audioGraph = audioPlan ? audioWindowGraph(audioPlan, first.count) : null;
    if (audioPlan && audioGraph) {
      first.inputs.push('-threads', '1', '-i', input);
      first.chains.push(audioGraph);
      first.outputs.push('-map', '[aw]', '-c:a', 'aac', '-b:a', String(video.audio?.bitRate ?? 160_000));
      first.outputs.push('-ar', String(audioPlan.sampleRate), '-ac', String(video.audio?.channels ?? 2));
      first.outputs.push('-f', 'adts', windows);
    }
    for (const [i, run] of runs.entries()) {
      if (run.outputs.length === 0) continue;
      // A recording with hundreds of pauses makes a long graph: pass it as a file.
      const script = path.join(work, `encode-graph-${i}.txt`);
      await writeFile(script, run.chains.join(';\n'));
      const share = encodeSeconds > 0 ? (weights.encode * run.seconds) / encodeSeconds : weights.encode;
      await runFfmpeg(
        [
          '-v',
          'error',
          ...run.inputs,
          '-filter_complex_threads',
          '1',
          '-filter_complex_script',
          script,
        ].concat(['-vsync', 'passthrough'], run.outputs),
        { ...limits, onProgress: phase(share), durationSeconds: run.seconds },
      );
      finish(share);
    }
    const listFile = path.join(work, 'pieces.txt');
    await writeFile(listFile, `ffconcat version 1.0\n${list.join('')}`);

    // 3. Join the video pieces as they are, with the audio.
    const args = ['-v', 'error', '-f', 'concat', '-safe', '0', '-auto_convert', '0', '-i', listFile];
    if (audioPlan) {
      const audio = path.join(work, 'edit.aac');
      await assembleAdts(audioPlan, sourceAudio, audioGraph ? windows : null, audio);
      // ADTS has no priming: its first packet (the priming one) is put at -1024 samples, which the
      // MP4 muxer writes as an edit list, as in the source.
      const priming = (AAC_FRAME / audioPlan.sampleRate).toFixed(9);
      args.push('-itsoffset', `-${priming}`, '-f', 'aac', '-i', audio, '-map', '0:v:0', '-map', '1:a:0');
      args.push('-c:a', 'copy');
    } else if (media.audio) {
      const graph = path.join(work, 'audio-graph.txt');
      const trims = plan.ranges.map(
        (r, i) =>
          `[1:a:0]atrim=start=${r.start.toFixed(6)}:end=${r.end.toFixed(6)},asetpts=PTS-STARTPTS[a${i}]`,
      );
      trims.push(`${plan.ranges.map((_, i) => `[a${i}]`).join('')}concat=n=${plan.ranges.length}:v=0:a=1[a]`);
      await writeFile(graph, trims.join(';\n'));
      args.push('-i', input, '-filter_complex_script', graph, '-map', '0:v:0', '-map', '[a]');
      args.push('-c:a', 'aac', '-b:a', '160k');
    } else args.push('-map', '0:v:0');
    args.push('-c:v', 'copy');
    if (video.timeBaseDen) args.push('-video_track_timescale', String(video.timeBaseDen));
    args.push('-movflags', '+faststart', '-f', 'mp4', output);
    await runFfmpeg(args, { ...limits, onProgress: phase(weights.join), durationSeconds: keptSeconds });
    limits.onProgress?.(1);
    return {
      reencodedSeconds: round(encodeSeconds),
      audio: !media.audio
        ? null
        : audioPlan
          ? {
              mode: 'copy',
              reencodedSeconds: round(audioSamplesEncoded(audioPlan) / audioPlan.sampleRate),
              maxShiftSeconds: round(audioPlan.maxShiftSamples / audioPlan.sampleRate, 6),
              reason: null,
            }
          : {
              mode: 'encode',
              reencodedSeconds: round(keptSeconds),
              maxShiftSeconds: 0,
              reason: audioCut && !audioCut.ok ? audioCut.reason : null,
            },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** What runSmartCut did, for the report and the benchmark. */
export interface SmartCutResult {
  /** Seconds of video re-encoded (the heads and tails). */
  reencodedSeconds: number;
  audio: {
    /** `copy`: AAC packets copied between cuts, windows re-encoded; `encode`: re-encoded whole. */
    mode: 'copy' | 'encode';
    reencodedSeconds: number;
    /** The largest move of a kept range's audio against its video (under half an AAC frame). */
    maxShiftSeconds: number;
    /** Why the audio was re-encoded whole; null otherwise. */
    reason: string | null;
  } | null;
}

function audioSamplesEncoded(plan: AudioCutPlan): number {
  return plan.segments.reduce((s, seg) => s + (seg.kind === 'encode' ? seg.samples : 0), 0);
}

/** Consecutive pieces of the same kind, in edit order; a piece `alone` says so is a group of its own. */
function groupPieces(
  pieces: Piece[],
  alone: (piece: Piece) => boolean,
): Array<{ kind: Piece['kind']; pieces: Piece[] }> {
  const groups: Array<{ kind: Piece['kind']; pieces: Piece[] }> = [];
  let open = false;
  for (const piece of pieces) {
    const last = groups[groups.length - 1];
    const single = piece.kind === 'encode' && alone(piece);
    if (last && open && last.kind === piece.kind && !single) last.pieces.push(piece);
    else groups.push({ kind: piece.kind, pieces: [piece] });
    open = !single;
  }
  return groups;
}

/** How many of the sorted frame times fall in [start, end). */
function framesIn(frames: number[], start: number, end: number): number {
  let count = 0;
  for (let t = firstAtOrAfter(frames, start); t !== undefined && t < end - 1e-4;) {
    count += 1;
    if (count >= 2) break; // enough to know
    t = firstAtOrAfter(frames, t + 1e-3);
  }
  return count;
}

/** libx264 settings that produce pieces a decoder can play between the source's own GOPs. */
export function matchingEncoder(video: VideoPackets): string[] {
  // superfast at CRF 18: a quarter less work than veryfast for these few pictures, still CABAC,
  // and a quality close to the source's around the cut.
  const args = ['-c:v', 'libx264', '-threads', '1', '-preset', 'superfast', '-crf', '18'];
  args.push('-profile:v', X264_PROFILES[video.profile ?? ''] ?? 'high');
  if (video.level !== null) args.push('-level:v', (video.level / 10).toFixed(1));
  args.push('-pix_fmt', video.pixelFormat ?? 'yuv420p');
  if (video.pixelFormat === 'yuvj420p') args.push('-color_range', 'pc');
  args.push('-x264-params', `sps-id=${PIECE_SPS_ID}:repeat-headers=1`);
  return args;
}

function entry(file: string, duration: number, outpoint?: number): string {
  // ffconcat quoting: single quotes, with a quote written as '\''.
  const quoted = `'${file.replace(/'/g, "'\\''")}'`;
  const out = outpoint === undefined ? '' : `outpoint ${outpoint.toFixed(6)}\n`;
  return `file ${quoted}\n${out}duration ${duration.toFixed(6)}\n`;
}

function firstAtOrAfter(sorted: number[], t: number): number | undefined {
  // Binary search: recordings have hundreds of thousands of frames.
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) < t - 1e-4) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo];
}

function lastAtOrBefore(sorted: number[], t: number): number | undefined {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] ?? 0) <= t + 1e-4) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 ? sorted[lo - 1] : undefined;
}

/** The median gap between frames (robust to the odd dropped or doubled frame). */
export function typicalFrameDuration(frames: number[]): number {
  const gaps: number[] = [];
  for (let i = 1; i < frames.length && gaps.length < 500; i += 1) {
    const gap = (frames[i] ?? 0) - (frames[i - 1] ?? 0);
    if (gap > 0) gaps.push(gap);
  }
  gaps.sort((a, b) => a - b);
  return gaps[Math.floor(gaps.length / 2)] ?? 1 / 30;
}

function round(value: number, digits = 3): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

import { writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import { writeOutput } from './step-output.js';
import { probeDuration, type MediaInfo } from './probe-step.js';
import type { SilentSegment } from './audio-analysis-step.js';
import { EVEN_DIMENSIONS, h264EncoderArgs } from './web-step.js';
import { readVideoPackets, type VideoPackets } from './video-packets.js';
import { planSmartCut, runSmartCut, type SmartCutResult } from './smart-cut.js';

/** Output name of the edit step. */
export const EDITED_NAME = 'edited.mp4';

/** Seconds of silence kept on each side of a cut, so speech is not clipped at the edges. */
export const DEFAULT_CUT_PAD_SECONDS = 0.05;

/** The edit report; every number comes from this upload's own analysis and the file written. */
export interface EditReport {
  original_duration: number;
  edited_duration: number;
  time_saved: number;
  segments_removed: number;
  silence_removed: number;
  /** The stretches cut out, in seconds of the original. */
  cuts: Array<{ start: number; end: number }>;
  /** Name of the edited file among the outputs; null when there was nothing to cut. */
  output: string | null;
  /**
   * How the edit was made: `smart` (streams copied between cuts, only the GOPs around each cut
   * re-encoded), `reencode` (everything re-encoded: audio only, or a source the smart cut cannot
   * match, see `edit_fallback_reason`), null when nothing was cut.
   */
  edit_mode: 'smart' | 'reencode' | null;
  /** Why a video edit was not a smart cut; null otherwise. */
  edit_fallback_reason: string | null;
  /** Seconds of video re-encoded by the edit (smart: the heads and tails around the cuts). */
  reencoded_seconds: number;
  /**
   * Seconds of audio re-encoded: a smart cut copies the AAC packets between cuts and re-encodes a
   * window of a few frames around each cut; otherwise all that is kept. Absent in older results.
   */
  audio_reencoded_seconds?: number;
  /**
   * The most a kept range's audio was moved against its video to put its copied AAC packets on
   * the edit's frame grid (under half an AAC frame: 10.7 ms at 48 kHz); 0 when re-encoded whole.
   */
  audio_max_shift_seconds?: number;
}

/** A stretch of the original, in seconds. */
export interface Range {
  start: number;
  end: number;
}

/**
 * Which stretches to cut: each silence minus a pad at each end. A silence touching the start or
 * the end of the file needs no pad on that side. Stretches shorter than a frame are not cut.
 */
export function planCuts(silences: SilentSegment[], duration: number, pad: number): Range[] {
  const cuts: Range[] = [];
  for (const s of silences) {
    const start = s.start <= 0.001 ? 0 : s.start + pad;
    const end = s.end >= duration - 0.001 ? duration : s.end - pad;
    if (end - start >= 0.04) cuts.push({ start: round(start), end: round(Math.min(end, duration)) });
  }
  return cuts;
}

/** The complement of the cuts within [0, duration]: what the edit keeps, in order. */
export function keptRanges(cuts: Range[], duration: number): Range[] {
  const kept: Range[] = [];
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a.start - b.start)) {
    if (cut.start > at) kept.push({ start: at, end: cut.start });
    at = Math.max(at, cut.end);
  }
  if (duration > at) kept.push({ start: at, end: duration });
  return kept;
}

/**
 * edit: an MP4 of the upload with the silent stretches cut out, and the report of what was removed.
 * A smart cut when the source allows (see smart-cut.ts): frame-exact, lossless outside the GOPs
 * around each cut; otherwise a full re-encode (trim + concat to H.264/AAC). The edited duration is
 * read back from the written file, not computed from the plan.
 */
export async function makeEdit(
  input: string,
  outputDir: string,
  media: MediaInfo,
  silences: SilentSegment[],
  options: {
    padSeconds: number;
    /** `reencode` forces the full re-encode (the benchmark's reference); default: smart when possible. */
    mode?: 'auto' | 'reencode';
  },
  limits: RunLimits,
): Promise<EditReport> {
  const original = media.durationSeconds;
  const cuts = planCuts(silences, original, options.padSeconds);
  const removed = round(cuts.reduce((sum, c) => sum + (c.end - c.start), 0));
  const kept = keptRanges(cuts, original);
  if (cuts.length === 0 || kept.length === 0) {
    // Nothing to cut (or nothing but silence): no second copy of the file, and the report says so.
    limits.onProgress?.(1);
    return {
      original_duration: round(original),
      edited_duration: round(original),
      time_saved: 0,
      segments_removed: 0,
      silence_removed: 0,
      cuts: [],
      output: null,
      edit_mode: null,
      edit_fallback_reason: null,
      reencoded_seconds: 0,
    };
  }

  let fallbackReason: string | null = null;
  if (media.video && options.mode === 'reencode') fallbackReason = 'a full re-encode was asked for';
  else if (media.video) {
    const source = await smartCutSource(input, outputDir, media, kept, limits);
    try {
      const plan = planSmartCut(source.kept, source.media, source.video);
      if (plan.ok) {
        let result: SmartCutResult | undefined;
        const file = await writeOutput(outputDir, EDITED_NAME, async (tmp) => {
          result = await runSmartCut(source.file, tmp, source.media, source.video, plan, limits);
        });
        const edited = await probeDuration(file, limits);
        return {
          ...summary(original, edited, cuts, removed),
          edit_mode: 'smart',
          edit_fallback_reason: null,
          reencoded_seconds: result?.reencodedSeconds ?? 0,
          audio_reencoded_seconds: result?.audio?.reencodedSeconds ?? 0,
          audio_max_shift_seconds: result?.audio?.maxShiftSeconds ?? 0,
        };
      }
      fallbackReason = plan.reason;
    } finally {
      if (source.file !== input) await rm(source.file, { force: true });
    }
  }

  const hasVideo = media.video !== null;
  const hasAudio = media.audio !== null;
  const n = kept.length;
  const chains: string[] = [];
  if (hasVideo) chains.push(`[0:v:0]split=${n}${kept.map((_, i) => `[vs${i}]`).join('')}`);
  if (hasAudio) chains.push(`[0:a:0]asplit=${n}${kept.map((_, i) => `[as${i}]`).join('')}`);
  const pairs: string[] = [];
  kept.forEach((r, i) => {
    const bounds = `start=${r.start.toFixed(3)}:end=${r.end.toFixed(3)}`;
    if (hasVideo) chains.push(`[vs${i}]trim=${bounds},setpts=PTS-STARTPTS[vk${i}]`);
    if (hasAudio) chains.push(`[as${i}]atrim=${bounds},asetpts=PTS-STARTPTS[ak${i}]`);
    pairs.push(`${hasVideo ? `[vk${i}]` : ''}${hasAudio ? `[ak${i}]` : ''}`);
  });
  const outs = `${hasVideo ? '[vc]' : ''}${hasAudio ? '[a]' : ''}`;
  chains.push(`${pairs.join('')}concat=n=${n}:v=${hasVideo ? 1 : 0}:a=${hasAudio ? 1 : 0}${outs}`);
  if (hasVideo) chains.push(`[vc]${EVEN_DIMENSIONS}[v]`);

  // A recording with hundreds of pauses makes a long graph: pass it as a file, not an argument.
  const script = path.join(outputDir, '.edit-graph.txt');
  await writeFile(script, chains.join(';\n'));
  const keptSeconds = kept.reduce((sum, r) => sum + (r.end - r.start), 0);
  try {
    const file = await writeOutput(outputDir, EDITED_NAME, async (tmp) => {
      const args = ['-v', 'error', '-i', input, '-filter_complex_script', script];
      if (hasVideo) args.push('-map', '[v]', ...h264EncoderArgs());
      if (hasAudio) args.push('-map', '[a]', '-c:a', 'aac', '-b:a', '160k');
      args.push('-movflags', '+faststart', '-f', 'mp4', tmp);
      await runFfmpeg(args, { ...limits, durationSeconds: keptSeconds });
    });
    const edited = await probeDuration(file, limits);
    return {
      ...summary(original, edited, cuts, removed),
      edit_mode: 'reencode',
      edit_fallback_reason: fallbackReason,
      reencoded_seconds: hasVideo ? round(keptSeconds) : 0,
      audio_reencoded_seconds: hasAudio ? round(keptSeconds) : 0,
      audio_max_shift_seconds: 0,
    };
  } finally {
    await rm(script, { force: true });
  }
}

// A picture that starts up to this late is moved to the file's start for the smart cut (see below).
const MAX_LEAD_SECONDS = 0.1;

/**
 * What the smart cut reads. Matroska written by ffmpeg starts the picture 21 ms in, behind the
 * audio's priming frame, and the split and join need it at the start: such a file is first
 * remuxed (stream copy, to a hidden MP4 beside the outputs) with both streams moved back by that
 * lead, so A/V keep their relation and the priming becomes the MP4's edit list, as in files
 * ffmpeg writes as MP4. The kept ranges move with it.
 */
async function smartCutSource(
  input: string,
  outputDir: string,
  media: MediaInfo,
  kept: Range[],
  limits: RunLimits,
): Promise<{ file: string; media: MediaInfo; video: VideoPackets; kept: Range[] }> {
  const quiet = { ...limits, onProgress: undefined };
  const video = await readVideoPackets(input, quiet);
  const lead = video.frames[0] ?? 0;
  if (lead <= 0.001 || lead > MAX_LEAD_SECONDS) return { file: input, media, video, kept };
  const file = path.join(outputDir, '.edit-source.mp4');
  const streams = ['-map', '0:v:0', ...(media.audio ? ['-map', '0:a:0'] : [])];
  await runFfmpeg(
    [
      '-v',
      'error',
      '-itsoffset',
      (-lead).toFixed(6),
      '-i',
      input,
      ...streams,
      '-c',
      'copy',
      '-f',
      'mp4',
      file,
    ],
    { ...quiet, durationSeconds: 0 },
  );
  return {
    file,
    media: { ...media, durationSeconds: media.durationSeconds - lead },
    video: await readVideoPackets(file, quiet),
    kept: kept.map((r) => ({ start: Math.max(0, r.start - lead), end: r.end - lead })),
  };
}

function summary(
  original: number,
  edited: number,
  cuts: Range[],
  removed: number,
): Omit<EditReport, 'edit_mode' | 'edit_fallback_reason' | 'reencoded_seconds'> {
  return {
    original_duration: round(original),
    edited_duration: round(edited),
    time_saved: round(original - edited),
    segments_removed: cuts.length,
    silence_removed: removed,
    cuts,
    output: EDITED_NAME,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

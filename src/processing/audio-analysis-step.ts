import { runFfmpeg, type RunLimits } from './run-ffmpeg.js';
import type { MediaInfo } from './probe-step.js';

/** One silent stretch of the audio, in seconds from the start. */
export interface SilentSegment {
  start: number;
  end: number;
  duration: number;
}

/** What the audio analysis found. */
export interface AudioAnalysis {
  /** Integrated loudness (EBU R128) in LUFS; null when the audio is silent throughout. */
  integratedLufs: number | null;
  /** Loudness range (EBU R128) in LU. */
  loudnessRangeLu: number | null;
  silenceThresholdDb: number;
  silenceMinSeconds: number;
  silences: SilentSegment[];
}

/** Silence detection settings (INGEST_SILENCE_THRESHOLD_DB, INGEST_SILENCE_MIN_SECONDS). */
export interface SilenceSettings {
  thresholdDb: number;
  minSeconds: number;
}

/** What analyseAudio returns: the analysis, and the loudness curve for the timeline (not stored with the step). */
export type AudioAnalysisWithCurve = AudioAnalysis & { momentaryLufs: Array<number | null> };

/**
 * audio analysis: one decoding pass through ebur128 (integrated loudness, loudness range) and
 * silencedetect (stretches below the threshold for at least the minimum length). Both filters
 * report on stderr; the numbers are read from there.
 */
export async function analyseAudio(
  input: string,
  media: MediaInfo,
  settings: SilenceSettings,
  limits: RunLimits,
): Promise<AudioAnalysisWithCurve> {
  const filters = `ebur128,silencedetect=noise=${settings.thresholdDb}dB:d=${settings.minSeconds}`;
  const result = await runFfmpeg(
    ['-v', 'info', '-i', input, '-map', '0:a:0', '-vn', '-sn', '-dn', '-af', filters, '-f', 'null', '-'],
    { ...limits, durationSeconds: media.durationSeconds },
  );
  return {
    ...parseLoudness(result.stderr),
    silenceThresholdDb: settings.thresholdDb,
    silenceMinSeconds: settings.minSeconds,
    silences: parseSilences(result.stderr, media.durationSeconds),
    momentaryLufs: parseMomentaryLoudness(result.stderr),
  };
}

/**
 * ebur128's per-frame lines ("t: 0.1 … M: -23.4 S: …"), one every 100 ms: the momentary loudness
 * (400 ms window) in LUFS, rounded to 0.1, null below the -70 LUFS gate (silence).
 */
export function parseMomentaryLoudness(stderr: string): Array<number | null> {
  const values: Array<number | null> = [];
  for (const match of stderr.matchAll(/\bt:\s*[\d.]+\s+TARGET:\S+ LUFS\s+M:\s*(-?[\d.]+|-inf|nan)/g)) {
    const m = Number(match[1]);
    values.push(Number.isFinite(m) && m > -70 ? Math.round(m * 10) / 10 : null);
  }
  return values;
}

/** Reads ebur128's summary ("I: -23.0 LUFS", "LRA: 4.6 LU") from ffmpeg's stderr. */
export function parseLoudness(stderr: string): {
  integratedLufs: number | null;
  loudnessRangeLu: number | null;
} {
  // The summary comes last; per-frame lines (if any) also contain "I:", so read after "Summary:".
  const at = stderr.lastIndexOf('Summary:');
  const summary = at >= 0 ? stderr.slice(at) : stderr;
  const i = /\bI:\s+(-?[\d.]+|-inf|nan)\s+LUFS/i.exec(summary);
  const lra = /\bLRA:\s+(-?[\d.]+)\s+LU\b/.exec(summary);
  const lufs = i ? Number(i[1]) : NaN;
  return {
    // ebur128 gives -70 LUFS (its gate) for digital silence: that is "no loudness", not a level.
    integratedLufs: Number.isFinite(lufs) && lufs > -70 ? lufs : null,
    loudnessRangeLu: lra && Number.isFinite(Number(lra[1])) ? Number(lra[1]) : null,
  };
}

/**
 * Pairs silencedetect's silence_start / silence_end lines into segments. A silence still open when
 * the audio ends runs to the end of the file.
 */
export function parseSilences(stderr: string, durationSeconds: number): SilentSegment[] {
  const segments: SilentSegment[] = [];
  let open: number | undefined;
  for (const match of stderr.matchAll(/silence_(start|end): (-?[\d.]+)/g)) {
    const value = Math.max(0, Number(match[2]));
    if (!Number.isFinite(value)) continue;
    if (match[1] === 'start') open = value;
    else if (open !== undefined) {
      segments.push(segment(open, value));
      open = undefined;
    }
  }
  if (open !== undefined && durationSeconds > open) segments.push(segment(open, durationSeconds));
  return segments;
}

function segment(start: number, end: number): SilentSegment {
  return { start: round(start), end: round(end), duration: round(end - start) };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

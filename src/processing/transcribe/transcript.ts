/** One recognised word, in seconds of the original recording. */
export interface TranscriptWord {
  text: string;
  start: number;
  end: number;
  /** 0..1 as the engine reports it; null when it reports none. */
  confidence: number | null;
}

/** A stretch of speech between pauses: one subtitle cue. */
export interface TranscriptSegment {
  start: number;
  end: number;
  text: string;
  words: TranscriptWord[];
}

/** `transcript.json`. */
export interface Transcript {
  engine: string;
  /** BCP-47-ish language code the engine used or detected ("en"). */
  language: string;
  duration: number;
  word_count: number;
  segments: TranscriptSegment[];
}

/** Longest cue a reader can follow, and the gap between words that starts a new cue. */
const MAX_CUE_SECONDS = 6;
const MAX_CUE_WORDS = 14;
const PAUSE_SECONDS = 0.6;

/**
 * Groups words into cues: a new cue starts at a pause, or when the current one grows past what a
 * reader follows. A cue spans its first word's start to its last word's end, so it never covers a
 * pause longer than PAUSE_SECONDS.
 */
export function segmentWords(words: TranscriptWord[]): TranscriptSegment[] {
  const sorted = [...words].sort((a, b) => a.start - b.start);
  const segments: TranscriptSegment[] = [];
  let current: TranscriptWord[] = [];
  const flush = (): void => {
    const first = current[0];
    const last = current[current.length - 1];
    if (first && last) {
      segments.push({
        start: first.start,
        end: last.end,
        text: current.map((w) => w.text).join(' '),
        words: current,
      });
    }
    current = [];
  };
  for (const word of sorted) {
    const first = current[0];
    const last = current[current.length - 1];
    if (
      first &&
      last &&
      (word.start - last.end > PAUSE_SECONDS ||
        word.end - first.start > MAX_CUE_SECONDS ||
        current.length >= MAX_CUE_WORDS)
    )
      flush();
    current.push(word);
  }
  flush();
  return segments;
}

/** WebVTT subtitles (a browser's `<track kind="subtitles">`). */
export function toWebVtt(segments: TranscriptSegment[]): string {
  const cues = segments.map(
    (s, i) => `${i + 1}\n${stamp(s.start, '.')} --> ${stamp(s.end, '.')}\n${escapeVtt(s.text)}\n`,
  );
  return `WEBVTT\n\n${cues.join('\n')}`;
}

/** SubRip subtitles. */
export function toSrt(segments: TranscriptSegment[]): string {
  return segments
    .map((s, i) => `${i + 1}\n${stamp(s.start, ',')} --> ${stamp(s.end, ',')}\n${s.text}\n`)
    .join('\n');
}

function escapeVtt(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/-->/g, '--&gt;');
}

function stamp(seconds: number, separator: '.' | ','): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const rest = ms % 1000;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(h)}:${two(m)}:${two(s)}${separator}${String(rest).padStart(3, '0')}`;
}

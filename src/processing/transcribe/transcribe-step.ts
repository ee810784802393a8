import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../errors/index.js';
import { runFfmpeg, type RunLimits } from '../run-ffmpeg.js';
import { writeOutput } from '../step-output.js';
import type { MediaInfo } from '../probe-step.js';
import type { SilentSegment } from '../audio-analysis-step.js';
import type { TranscriptionEngine } from './engine.js';
import { PocketSphinxEngine } from './pocketsphinx-engine.js';
import { WhisperEngine } from './whisper-engine.js';
import { segmentWords, toSrt, toWebVtt, type Transcript, type TranscriptWord } from './transcript.js';

/** Output names of the transcribe step. */
export const TRANSCRIPT_NAME = 'transcript.json';
export const SUBTITLES_VTT_NAME = 'subtitles.vtt';
export const SUBTITLES_SRT_NAME = 'subtitles.srt';

/** INGEST_TRANSCRIBE and the whisper.cpp settings. */
export interface TranscribeSettings {
  engine: 'off' | 'pocketsphinx' | 'whisper';
  whisperBin?: string | undefined;
  whisperModel?: string | undefined;
}

/** What the step keeps (and the report shows): the transcript's summary, not its words. */
export interface TranscribeResult {
  engine: string;
  language: string;
  word_count: number;
  segment_count: number;
}

const SAMPLE_RATE = 16_000;
const BYTES_PER_SECOND = SAMPLE_RATE * 2;
/** Longest chunk given to an engine at once; chunks end in a pause when there is one. */
export const MAX_CHUNK_SECONDS = 120;

/** The engine INGEST_TRANSCRIBE names, or a clear error when whisper is asked for without its files. */
export function engineFor(settings: TranscribeSettings): TranscriptionEngine {
  if (settings.engine === 'pocketsphinx') return new PocketSphinxEngine();
  if (settings.engine === 'whisper') {
    if (!settings.whisperBin || !settings.whisperModel)
      throw new AppError(
        'TRANSCRIPTION_FAILED',
        'INGEST_TRANSCRIBE=whisper needs INGEST_WHISPER_BIN and INGEST_WHISPER_MODEL',
      );
    return new WhisperEngine(settings.whisperBin, settings.whisperModel);
  }
  throw new AppError('INTERNAL_ERROR', 'transcription is off');
}

/**
 * Where to cut the audio into chunks of at most `max` seconds: in the middle of the silence
 * that ends latest within each window (so no word is split), or at the window's end when the
 * window has no silence.
 */
export function chunkBounds(
  duration: number,
  silences: SilentSegment[],
  max = MAX_CHUNK_SECONDS,
): Array<{ start: number; end: number }> {
  const middles = silences.map((s) => (s.start + s.end) / 2).sort((a, b) => a - b);
  const chunks: Array<{ start: number; end: number }> = [];
  let start = 0;
  while (duration - start > max) {
    const limit = start + max;
    const cut = [...middles].reverse().find((m) => m > start + 1 && m <= limit) ?? limit;
    chunks.push({ start, end: cut });
    start = cut;
  }
  if (duration > start) chunks.push({ start, end: duration });
  return chunks;
}

/**
 * transcribe: extracts the audio once as 16 kHz mono 16-bit PCM, cuts it into chunks at pauses
 * (chunkBounds), gives each chunk to the engine as a WAV (progress moves chunk by chunk), and
 * writes transcript.json (segments with their words: start, end, confidence), subtitles.vtt and
 * subtitles.srt. Cues are the segments: a pause starts a new one.
 */
export async function transcribe(
  input: string,
  outputDir: string,
  media: MediaInfo,
  silences: SilentSegment[],
  engine: TranscriptionEngine,
  limits: RunLimits,
  options: { maxChunkSeconds?: number } = {},
): Promise<TranscribeResult> {
  const work = await mkdtemp(path.join(outputDir, '.transcribe-'));
  try {
    const pcm = path.join(work, 'audio.s16le');
    const duration = media.durationSeconds;
    // Extraction is a small share of the work next to recognition.
    await runFfmpeg(
      [
        '-v',
        'error',
        '-i',
        input,
        '-map',
        '0:a:0',
        '-vn',
        '-sn',
        '-dn',
        '-ac',
        '1',
        '-ar',
        String(SAMPLE_RATE),
      ].concat(['-c:a', 'pcm_s16le', '-f', 's16le', pcm]),
      { ...limits, onProgress: (f) => limits.onProgress?.(f * 0.1), durationSeconds: duration },
    );
    const audioSeconds = (await stat(pcm)).size / BYTES_PER_SECOND;
    const chunks = chunkBounds(audioSeconds, silences, options.maxChunkSeconds);
    const words: TranscriptWord[] = [];
    let language = 'und';
    const handle = await open(pcm, 'r');
    try {
      for (const [i, chunk] of chunks.entries()) {
        const wav = path.join(work, `chunk-${i}.wav`);
        await writeWavSlice(handle, chunk.start, chunk.end, wav);
        const found = await engine.transcribe(wav, { ...limits, onProgress: undefined });
        if (found.language !== 'und') language = found.language;
        for (const w of found.words) {
          words.push({
            text: w.text,
            start: round(chunk.start + w.start),
            end: round(chunk.start + w.end),
            confidence: w.confidence,
          });
        }
        await rm(wav, { force: true });
        limits.onProgress?.(0.1 + (0.9 * chunk.end) / Math.max(audioSeconds, 0.001));
      }
    } finally {
      await handle.close();
    }
    const segments = segmentWords(words);
    const transcript: Transcript = {
      engine: engine.name,
      language,
      duration: round(duration),
      word_count: words.length,
      segments,
    };
    await writeOutput(outputDir, TRANSCRIPT_NAME, (tmp) =>
      writeFile(tmp, JSON.stringify(transcript, null, 2)),
    );
    await writeOutput(outputDir, SUBTITLES_VTT_NAME, (tmp) => writeFile(tmp, toWebVtt(segments)));
    await writeOutput(outputDir, SUBTITLES_SRT_NAME, (tmp) => writeFile(tmp, toSrt(segments)));
    return { engine: engine.name, language, word_count: words.length, segment_count: segments.length };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Writes [start, end) seconds of the raw PCM as a standalone 16 kHz mono 16-bit WAV. */
async function writeWavSlice(
  pcm: Awaited<ReturnType<typeof open>>,
  start: number,
  end: number,
  file: string,
): Promise<void> {
  const from = Math.floor(start * SAMPLE_RATE) * 2;
  const length = Math.max(0, Math.floor(end * SAMPLE_RATE) * 2 - from);
  const data = Buffer.alloc(length);
  const { bytesRead } = await pcm.read(data, 0, length, from);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + bytesRead, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(BYTES_PER_SECOND, 28);
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(bytesRead, 40);
  await writeFile(file, Buffer.concat([header, data.subarray(0, bytesRead)]));
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

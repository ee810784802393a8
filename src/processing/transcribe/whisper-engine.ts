import { mkdtemp, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { z } from 'zod';
import { AppError } from '../../errors/index.js';
import { lastLines, runBinary, type RunLimits } from '../run-ffmpeg.js';
import type { ChunkTranscript, TranscriptionEngine } from './engine.js';
import type { TranscriptWord } from './transcript.js';

// whisper.cpp's `-ojf` (full JSON) output: segments with millisecond offsets, and their tokens
// (sub-word pieces; a piece starting with a space starts a word) with probabilities `p`.
const offsets = z.object({ from: z.number(), to: z.number() });
const whisperJson = z.object({
  result: z.object({ language: z.string().optional() }).optional(),
  params: z.object({ language: z.string().optional() }).optional(),
  transcription: z.array(
    z.object({
      offsets,
      text: z.string(),
      tokens: z
        .array(z.object({ text: z.string(), offsets: offsets.optional(), p: z.number().optional() }))
        .optional(),
    }),
  ),
});

/**
 * whisper.cpp (`whisper-cli`, or the older `main`) with a ggml model file the user provides
 * (INGEST_WHISPER_BIN, INGEST_WHISPER_MODEL): `-f <wav> -m <model> -l auto -ojf -of <stem>`
 * writes `<stem>.json`, read by parseWhisperJson.
 */
export class WhisperEngine implements TranscriptionEngine {
  readonly name = 'whisper';

  constructor(
    private readonly binary: string,
    private readonly model: string,
  ) {}

  async transcribe(wav: string, limits: RunLimits): Promise<ChunkTranscript> {
    const dir = await mkdtemp(path.join(tmpdir(), 'streamai-whisper-'));
    try {
      const stem = path.join(dir, 'out');
      const result = await runBinary(
        this.binary,
        ['-m', this.model, '-f', wav, '-l', 'auto', '-ojf', '-of', stem, '-np'],
        limits,
      );
      if (result.code !== 0) {
        throw new AppError(
          'TRANSCRIPTION_FAILED',
          `whisper exited with code ${result.code}: ${lastLines(result.stderr)}`,
        );
      }
      const text = await readFile(`${stem}.json`, 'utf8').catch(() => {
        throw new AppError('TRANSCRIPTION_FAILED', 'whisper wrote no JSON output');
      });
      return parseWhisperJson(text);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Reads whisper.cpp's JSON (full or not) into words; without tokens, a segment's words share its span. */
export function parseWhisperJson(text: string): ChunkTranscript {
  let parsed: z.infer<typeof whisperJson>;
  try {
    parsed = whisperJson.parse(JSON.parse(text));
  } catch (error) {
    throw new AppError('TRANSCRIPTION_FAILED', 'whisper output is not the JSON whisper.cpp writes', {
      cause: error,
    });
  }
  const words: TranscriptWord[] = [];
  for (const segment of parsed.transcription) {
    const tokens = (segment.tokens ?? []).filter(
      (t) => !/^\s*\[_?[A-Z_]+.*\]$/.test(t.text) && t.text.trim() !== '',
    );
    if (tokens.length === 0) {
      const parts = segment.text.trim().split(/\s+/).filter(Boolean);
      const span = (segment.offsets.to - segment.offsets.from) / 1000 / Math.max(1, parts.length);
      parts.forEach((part, i) =>
        words.push({
          text: part,
          start: segment.offsets.from / 1000 + i * span,
          end: segment.offsets.from / 1000 + (i + 1) * span,
          confidence: null,
        }),
      );
      continue;
    }
    let current: { text: string; start: number; end: number; p: number[] } | undefined;
    const flush = (): void => {
      if (current && current.text.trim()) {
        const mean = current.p.length ? current.p.reduce((s, v) => s + v, 0) / current.p.length : null;
        words.push({
          text: current.text.trim(),
          start: current.start,
          end: current.end,
          confidence: mean === null ? null : Math.round(mean * 1000) / 1000,
        });
      }
      current = undefined;
    };
    for (const token of tokens) {
      const from = (token.offsets?.from ?? segment.offsets.from) / 1000;
      const to = (token.offsets?.to ?? segment.offsets.to) / 1000;
      const startsWord = /^\s/.test(token.text) || current === undefined;
      // Punctuation sticks to the word before it.
      if (startsWord && !/^[.,!?;:]+$/.test(token.text.trim())) {
        flush();
        current = { text: token.text, start: from, end: to, p: [] };
      } else if (current) {
        current.text += token.text;
        current.end = to;
      }
      if (token.p !== undefined) current?.p.push(token.p);
    }
    flush();
  }
  const language = parsed.result?.language ?? parsed.params?.language ?? 'und';
  return { language, words };
}

import { AppError } from '../../errors/index.js';
import { lastLines, runBinary, type RunLimits } from '../run-ffmpeg.js';
import type { ChunkTranscript, TranscriptionEngine } from './engine.js';
import type { TranscriptWord } from './transcript.js';

/**
 * CMU PocketSphinx (Debian `pocketsphinx` + `pocketsphinx-en-us`): `pocketsphinx_continuous
 * -infile <wav> -time yes` prints, per utterance, the hypothesis and then one line per word:
 * `word start end confidence`. Fillers (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `++UH++`) are left out
 * and alternate-pronunciation marks (`the(2)`) removed. English only (the packaged model).
 */
export class PocketSphinxEngine implements TranscriptionEngine {
  readonly name = 'pocketsphinx';

  constructor(private readonly binary = 'pocketsphinx_continuous') {}

  async transcribe(wav: string, limits: RunLimits): Promise<ChunkTranscript> {
    const result = await runBinary(
      this.binary,
      ['-infile', wav, '-time', 'yes', '-logfn', '/dev/null'],
      limits,
    );
    if (result.code !== 0) {
      throw new AppError(
        'TRANSCRIPTION_FAILED',
        `pocketsphinx exited with code ${result.code}: ${lastLines(result.stderr)}`,
      );
    }
    return { language: 'en', words: parsePocketSphinx(result.stdout) };
  }
}

/** Reads the `word start end confidence` lines of pocketsphinx_continuous -time yes. */
export function parsePocketSphinx(stdout: string): TranscriptWord[] {
  const words: TranscriptWord[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!match) continue;
    const raw = match[1] ?? '';
    if (/^(<.*>|\[.*\]|\+\+.*\+\+)$/.test(raw)) continue;
    const text = raw.replace(/\(\d+\)$/, '');
    words.push({ text, start: Number(match[2]), end: Number(match[3]), confidence: Number(match[4]) });
  }
  return words;
}

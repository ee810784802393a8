import type { RunLimits } from '../run-ffmpeg.js';
import type { TranscriptWord } from './transcript.js';

/** What an engine found in one chunk of audio; times relative to the chunk's start. */
export interface ChunkTranscript {
  language: string;
  words: TranscriptWord[];
}

/**
 * A speech-to-text engine. It is given one 16 kHz mono 16-bit WAV file at a time (a chunk of the
 * recording, cut at a pause) and returns its words with times relative to that file.
 */
export interface TranscriptionEngine {
  readonly name: string;
  transcribe(wav: string, limits: RunLimits): Promise<ChunkTranscript>;
}

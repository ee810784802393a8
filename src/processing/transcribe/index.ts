/** Speech to text behind an engine interface (INGEST_TRANSCRIBE), and the subtitles made from it. */
export type { TranscriptionEngine, ChunkTranscript } from './engine.js';
export { PocketSphinxEngine, parsePocketSphinx } from './pocketsphinx-engine.js';
export { WhisperEngine, parseWhisperJson } from './whisper-engine.js';
export {
  segmentWords,
  toSrt,
  toWebVtt,
  type Transcript,
  type TranscriptSegment,
  type TranscriptWord,
} from './transcript.js';
export {
  transcribe,
  engineFor,
  chunkBounds,
  MAX_CHUNK_SECONDS,
  TRANSCRIPT_NAME,
  SUBTITLES_SRT_NAME,
  SUBTITLES_VTT_NAME,
  type TranscribeResult,
  type TranscribeSettings,
} from './transcribe-step.js';

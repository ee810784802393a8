import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  chunkBounds,
  runPipeline,
  transcribe,
  WhisperEngine,
  probeMedia,
  type Transcript,
  type TranscriptionEngine,
} from '../../src/processing/index.js';
import { ffprobePath } from '../../src/media/index.js';
import { ffmpeg } from '../helpers/make-media.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);
const SENTENCES = [
  'the quick brown fox jumps over the lazy dog',
  'please call me tomorrow morning',
  'thank you very much for listening',
];
const PAUSE = 3;

/** Speech made with espeak-ng: the sentences one after the other with PAUSE s of silence between. */
async function makeSpeech(
  dir: string,
): Promise<{ file: string; spoken: Array<{ start: number; end: number }> }> {
  const spoken: Array<{ start: number; end: number }> = [];
  const inputs: string[] = [];
  const delays: string[] = [];
  let at = 0.5;
  for (const [i, sentence] of SENTENCES.entries()) {
    const wav = path.join(dir, `s${i}.wav`);
    await run('espeak-ng', ['-s', '140', '-w', wav, sentence]);
    const { stdout } = await run(ffprobePath, [
      '-v',
      'error',
      '-show_entries',
      'format=duration',
      '-of',
      'csv=p=0',
      wav,
    ]);
    const duration = Number(stdout.trim());
    spoken.push({ start: at, end: at + duration });
    inputs.push('-i', wav);
    delays.push(`[${i}:a]adelay=${Math.round(at * 1000)}:all=1[d${i}]`);
    at += duration + PAUSE;
  }
  const file = path.join(dir, 'speech.m4a');
  await ffmpeg(
    inputs.concat(
      [
        '-filter_complex',
        `${delays.join(';')};${SENTENCES.map((_, i) => `[d${i}]`).join('')}amix=inputs=${SENTENCES.length}:normalize=0,apad=pad_dur=1[a]`,
      ],
      ['-map', '[a]', '-ar', '48000', '-c:a', 'aac', '-b:a', '128k', file],
    ),
  );
  return { file, spoken };
}

/** Minimal parsers for the two subtitle formats, independent of the code that writes them. */
function parseCues(text: string, separator: '.' | ','): Array<{ start: number; end: number; text: string }> {
  const time = (s: string): number => {
    const [h, m, rest] = s.split(':');
    return Number(h) * 3600 + Number(m) * 60 + Number((rest ?? '').replace(',', '.'));
  };
  const stamp = separator === '.' ? '\\d{2}:\\d{2}:\\d{2}\\.\\d{3}' : '\\d{2}:\\d{2}:\\d{2},\\d{3}';
  const cue = new RegExp(`^(${stamp}) --> (${stamp})\\n(.+)$`, 'gm');
  return [...text.matchAll(cue)].map((m) => ({
    start: time(m[1] ?? ''),
    end: time(m[2] ?? ''),
    text: m[3] ?? '',
  }));
}

/** Word error rate of a hypothesis against a reference (Levenshtein over words). */
function wordErrorRate(reference: string[], hypothesis: string[]): number {
  const d = Array.from({ length: reference.length + 1 }, (_, i) => [
    i,
    ...hypothesis.map((_, j) => (i === 0 ? j + 1 : 0)),
  ]);
  for (let i = 1; i <= reference.length; i += 1)
    for (let j = 1; j <= hypothesis.length; j += 1) {
      const cost = reference[i - 1] === hypothesis[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
    }
  return d[reference.length]![hypothesis.length]! / reference.length;
}

test('pocketsphinx transcribes espeak-ng speech: cues inside the spoken ranges and none in the pauses, VTT/SRT parse, subtitles in the web copy', async (t) => {
  const dir = await tempDir(t);
  const { file, spoken } = await makeSpeech(dir);
  const outputDir = path.join(dir, 'out');
  const { report, outputs } = await runPipeline(file, outputDir, {
    stepTimeoutMs: 600_000,
    silenceThresholdDb: -40,
    silenceMinSeconds: 1,
    chapters: false,
    transcribe: { engine: 'pocketsphinx' },
  });
  assert.ok(report.transcript, JSON.stringify(report.failed_steps));
  assert.equal(report.transcript.language, 'en');
  for (const name of ['transcript.json', 'subtitles.vtt', 'subtitles.srt'])
    assert.ok(
      outputs.some((o) => o.name === name),
      name,
    );

  const transcript = JSON.parse(
    await readFile(path.join(outputDir, 'transcript.json'), 'utf8'),
  ) as Transcript;
  const words = transcript.segments.flatMap((s) => s.words);
  assert.equal(report.transcript.word_count, words.length);
  assert.ok(words.length > 0, 'some words were recognised');
  for (const w of words) {
    assert.ok(w.end >= w.start, JSON.stringify(w));
    assert.ok(w.confidence === null || (w.confidence >= 0 && w.confidence <= 1), JSON.stringify(w));
  }

  const tolerance = 0.35;
  const inside = (c: { start: number; end: number }): boolean =>
    spoken.some((r) => c.start >= r.start - tolerance && c.end <= r.end + tolerance);
  const vtt = await readFile(path.join(outputDir, 'subtitles.vtt'), 'utf8');
  const srt = await readFile(path.join(outputDir, 'subtitles.srt'), 'utf8');
  assert.match(vtt, /^WEBVTT\n/);
  const vttCues = parseCues(vtt, '.');
  const srtCues = parseCues(srt, ',');
  assert.ok(vttCues.length > 0);
  assert.deepEqual(
    srtCues.map((c) => [c.start, c.end, c.text]),
    vttCues.map((c) => [c.start, c.end, c.text]),
  );
  for (const cue of vttCues)
    assert.ok(inside(cue), `cue ${cue.start}–${cue.end} "${cue.text}" is outside speech`);
  // No cue inside a pause (the middle second of each gap between sentences).
  for (let i = 1; i < spoken.length; i += 1) {
    const gap = { start: spoken[i - 1]!.end + 1, end: spoken[i]!.start - 1 };
    assert.ok(
      vttCues.every((c) => c.end <= gap.start || c.start >= gap.end),
      `a cue covers the pause ${gap.start}–${gap.end}`,
    );
  }

  // Accuracy on a synthetic voice is poor: reported, not asserted tightly.
  const reference = SENTENCES.join(' ').split(' ');
  const hypothesis = words.map((w) => w.text.toLowerCase());
  const wer = wordErrorRate(reference, hypothesis);
  t.diagnostic(
    `pocketsphinx WER on espeak-ng speech: ${(wer * 100).toFixed(0)} % ("${hypothesis.join(' ')}")`,
  );
  assert.ok(
    hypothesis.some((w) => reference.includes(w)),
    'at least one word of the sentences was recognised',
  );

  // The web copy carries the subtitles as a soft track.
  assert.equal(report.web.subtitles, 'mov_text');
  const { stdout } = await run(ffprobePath, [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_type,codec_name:stream_tags=language',
    '-of',
    'json',
    path.join(outputDir, 'web.mp4'),
  ]);
  const streams = (
    JSON.parse(stdout) as { streams: Array<{ codec_name: string; tags?: { language?: string } }> }
  ).streams;
  const subtitle = streams.find((s) => s.codec_name === 'mov_text');
  assert.ok(subtitle, JSON.stringify(streams));
  assert.equal(subtitle.tags?.language, 'eng');
});

test("long audio is transcribed in chunks cut in the pauses, with progress, and word times are the recording's", async (t) => {
  const dir = await tempDir(t);
  const { file, spoken } = await makeSpeech(dir);
  const media = await probeMedia(file, { timeoutMs: 60_000 });
  // Pauses as the audio step finds them; chunks of at most 6 s must end inside one.
  const silences = spoken
    .slice(1)
    .map((r, i) => ({ start: spoken[i]!.end + 0.2, end: r.start - 0.2, duration: 0 }));
  const chunks = chunkBounds(media.durationSeconds, silences, 6);
  assert.ok(chunks.length >= 3, JSON.stringify(chunks));
  for (const c of chunks.slice(0, -1))
    assert.ok(
      silences.some((s) => c.end > s.start && c.end < s.end),
      `chunk end ${c.end} is not in a pause`,
    );

  // An engine that records what it is given and "hears" one word at 0.1 s of each chunk.
  const seen: string[] = [];
  const engine: TranscriptionEngine = {
    name: 'recording-fake',
    transcribe: async (wav) => {
      const bytes = await readFile(wav);
      assert.equal(bytes.readUInt32LE(24), 16000, '16 kHz');
      assert.equal(bytes.readUInt16LE(22), 1, 'mono');
      seen.push(wav);
      return { language: 'en', words: [{ text: `w${seen.length}`, start: 0.1, end: 0.3, confidence: 0.5 }] };
    },
  };
  const progress: number[] = [];
  const result = await transcribe(
    file,
    dir,
    media,
    silences,
    engine,
    { timeoutMs: 60_000, onProgress: (f) => progress.push(f) },
    { maxChunkSeconds: 6 },
  );
  assert.equal(seen.length, chunks.length);
  assert.equal(result.word_count, chunks.length);
  const transcript = JSON.parse(await readFile(path.join(dir, 'transcript.json'), 'utf8')) as Transcript;
  const starts = transcript.segments.flatMap((s) => s.words.map((w) => w.start));
  assert.deepEqual(
    starts,
    chunks.map((c) => Math.round((c.start + 0.1) * 1000) / 1000),
  );
  assert.ok(progress.length > chunks.length && progress.every((p, i) => i === 0 || p >= progress[i - 1]!));
  assert.equal(progress[progress.length - 1], 1);
});

test('whisper adapter: reads the JSON whisper.cpp writes (run through a stand-in script, no model here)', async (t) => {
  const dir = await tempDir(t);
  const model = path.join(dir, 'ggml-fake.bin');
  await writeFile(model, 'not a model');
  const wav = path.join(dir, 'in.wav');
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=300:duration=3',
    '-ar',
    '16000',
    '-ac',
    '1',
    '-c:a',
    'pcm_s16le',
    wav,
  ]);
  const engine = new WhisperEngine(path.resolve('test/processing/fixtures/fake-whisper.mjs'), model);
  const found = await engine.transcribe(wav, { timeoutMs: 30_000 });
  assert.equal(found.language, 'en');
  assert.deepEqual(
    found.words.map((w) => [w.text, w.start, w.end]),
    [
      ['Hello', 0.2, 0.6],
      ['world,', 0.7, 1.15],
      ['again.', 1.2, 1.55],
      ['Goodbye.', 2.1, 2.75],
    ],
  );
  assert.equal(found.words[1]?.confidence, 0.633);
  await assert.rejects(
    new WhisperEngine(
      path.resolve('test/processing/fixtures/fake-whisper.mjs'),
      path.join(dir, 'missing.bin'),
    ).transcribe(wav, { timeoutMs: 30_000 }),
    {
      code: 'TRANSCRIPTION_FAILED',
    },
  );
});

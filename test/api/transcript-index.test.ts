import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { TranscriptIndex } from '../../src/station/transcript-index.js';
import { openDatabase, stationMigrations } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';

/** A transcript.json as the processing server writes it (src/processing/transcribe). */
function transcript(lines: Array<[number, number, string]>): unknown {
  return {
    engine: 'pocketsphinx',
    language: 'fr',
    duration: 60,
    word_count: lines.reduce((n, [, , text]) => n + text.split(' ').length, 0),
    segments: lines.map(([start, end, text]) => ({
      start,
      end,
      text,
      words: text
        .split(' ')
        .map((w, i) => ({ text: w, start: start + i * 0.3, end: start + i * 0.3 + 0.25, confidence: 0.9 })),
    })),
  };
}

async function openIndex(t: import('node:test').TestContext): Promise<TranscriptIndex> {
  const db = openDatabase(path.join(await tempDir(t), 'streamai.db'), stationMigrations);
  t.after(() => db.close());
  const names: Record<string, string> = { task_a: 'a.mkv', task_b: 'b.mkv' };
  return new TranscriptIndex(db, (id) =>
    names[id] ? { fileName: names[id], sessionName: `Session ${id}`, recordingId: null } : undefined,
  );
}

test('the transcript index (FTS5 in the station database): phrases across recordings, where they are said', async (t) => {
  const index = await openIndex(t);
  index.index(
    'task_a',
    transcript([
      [1.5, 4, 'Bonjour à tous, la réunion commence'],
      [10, 12, 'fin de la réunion'],
    ]),
  );
  index.index(
    'task_b',
    transcript([
      [3, 5, 'la commence réunion'],
      [20, 22, 'rien à voir'],
    ]),
  );
  assert.equal(index.count(), 2);

  // A phrase: its words in that order (case and accents ignored), not anywhere in the line.
  const hits = index.search('REUNION commence');
  assert.deepEqual(
    hits.map((h) => [h.task_id, h.start, h.file_name, h.session_name]),
    [['task_a', 1.5, 'a.mkv', 'Session task_a']],
  );
  assert.equal(index.search('réunion').length, 3);
  // FTS5 syntax in the text is plain words, never an error.
  for (const odd of ['NEAR(la fin', '"', 'a OR b', '-x*', "l'été"])
    assert.ok(Array.isArray(index.search(odd)), odd);
  assert.throws(() => index.search('   '), { code: 'BAD_REQUEST' });
  assert.throws(() => index.search('x'.repeat(201)), { code: 'BAD_REQUEST' });

  // Re-indexing a task replaces its lines as a whole.
  index.index('task_a', transcript([[2, 3, 'autre chose']]));
  assert.deepEqual(
    index.search('réunion').map((h) => h.task_id),
    ['task_b'],
  );
  assert.equal(index.count(), 2);
});

test('a body that is not a transcript is refused and leaves the index as it was', async (t) => {
  const index = await openIndex(t);
  index.index('task_a', transcript([[0, 1, 'hello world']]));
  for (const bad of [
    null,
    {},
    { segments: 'x' },
    { ...(transcript([]) as object), segments: [{ start: 'x' }] },
  ])
    assert.throws(() => index.index('task_a', bad), { code: 'SERVER_ERROR' });
  assert.equal(index.search('hello world').length, 1);
  assert.equal(index.has('task_b'), false);
});

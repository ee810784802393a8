import { Value } from '@sinclair/typebox/value';
import { AppError } from '../errors/index.js';
import type { Db } from '../store/index.js';
import { TranscriptFileSchema, type SearchHit, type TranscriptFile } from './contract.js';

/** Longest query kept (a phrase, not a document) and most hits answered. */
export const MAX_QUERY_LENGTH = 200;
const MAX_HITS = 50;

/** The upload task facts a hit shows (file name, session), looked up by task id. */
export type TaskFacts = (
  taskId: string,
) => { fileName: string; sessionName: string | null; recordingId: string | null } | undefined;

/**
 * The station's full-text index of transcripts (SQLite FTS5 in the station database, schema v8):
 * one row per transcript line, so a hit says where in which recording the phrase is said and the
 * page can seek there. Filled when the station learns a task's processing is done.
 */
export class TranscriptIndex {
  constructor(
    private readonly db: Db,
    private readonly facts: TaskFacts,
  ) {}

  /**
   * Indexes a task's transcript.json body, replacing what was there for the task. A body that is
   * not a transcript is refused (INVALID_OUTPUT), and nothing of it is kept.
   */
  index(taskId: string, body: unknown): number {
    if (!Value.Check(TranscriptFileSchema, body))
      throw new AppError('SERVER_ERROR', `transcript.json of ${taskId} is not a transcript`);
    const transcript: TranscriptFile = body;
    const lines = transcript.segments.filter((s) => s.text.trim() !== '');
    const insert = this.db.prepare(
      'INSERT INTO transcript_lines (text, task_id, start, end) VALUES (?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM transcript_lines WHERE task_id = ?').run(taskId);
      for (const line of lines) insert.run(line.text, taskId, line.start, line.end);
      this.db
        .prepare(
          `INSERT INTO transcript_tasks (task_id, language, lines, indexed_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (task_id) DO UPDATE SET language = excluded.language, lines = excluded.lines,
             indexed_at = excluded.indexed_at`,
        )
        .run(taskId, transcript.language, lines.length, new Date().toISOString());
    })();
    return lines.length;
  }

  has(taskId: string): boolean {
    return this.db.prepare('SELECT 1 FROM transcript_tasks WHERE task_id = ?').get(taskId) !== undefined;
  }

  /** How many tasks' transcripts are indexed. */
  count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM transcript_tasks').get() as { n: number }).n;
  }

  /**
   * The lines holding `query` as a phrase (its words in that order; case and accents ignored),
   * best match first. The query is quoted as one FTS5 string, so its operators (OR, NEAR, *, -)
   * are plain words and no input is an FTS5 syntax error.
   */
  search(query: string): SearchHit[] {
    const phrase = query.trim();
    if (phrase === '') throw new AppError('BAD_REQUEST', 'the search text is empty');
    if (phrase.length > MAX_QUERY_LENGTH)
      throw new AppError('BAD_REQUEST', `the search text is longer than ${MAX_QUERY_LENGTH} characters`);
    const rows = this.db
      .prepare(
        `SELECT task_id, start, end, text FROM transcript_lines
         WHERE transcript_lines MATCH ? ORDER BY bm25(transcript_lines), task_id, start LIMIT ?`,
      )
      .all(`"${phrase.replaceAll('"', '""')}"`, MAX_HITS) as Array<{
      task_id: string;
      start: number;
      end: number;
      text: string;
    }>;
    return rows.map((row) => {
      const facts = this.facts(row.task_id);
      return {
        task_id: row.task_id,
        file_name: facts?.fileName ?? row.task_id,
        session_name: facts?.sessionName ?? null,
        recording_id: facts?.recordingId ?? null,
        start: row.start,
        end: row.end,
        text: row.text,
      };
    });
  }
}

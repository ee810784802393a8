import type { FastifyPluginAsync } from 'fastify';
import { SearchAnswerSchema, type SearchAnswer, type Station } from '../../station/index.js';
import { MAX_QUERY_LENGTH } from '../../station/transcript-index.js';
import { answers } from './responses.js';

/** Full-text search across the transcripts of every processed recording. */
export const searchRoutes =
  (station: Station): FastifyPluginAsync =>
  async (app) => {
    app.get<{ Querystring: { q: string } }>(
      '/api/search',
      {
        schema: {
          summary:
            'Transcript lines that hold a phrase, across all recordings (case and accents ignored; best first, at most 50)',
          tags: ['search'],
          querystring: {
            type: 'object',
            required: ['q'],
            properties: { q: { type: 'string', minLength: 1, maxLength: MAX_QUERY_LENGTH } },
          },
          response: answers(SearchAnswerSchema),
        },
      },
      async (request): Promise<SearchAnswer> => {
        const { q } = request.query;
        return { success: true, query: q, ...station.searchTranscripts(q) };
      },
    );
  };

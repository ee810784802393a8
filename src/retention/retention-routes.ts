import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import { errorSchema } from '../notify/index.js';
import type { RetentionService } from './retention-service.js';

const str = { type: 'string' } as const;
const num = { type: 'number' } as const;
const list = (properties: Record<string, unknown>): Record<string, unknown> => ({
  type: 'array',
  items: { type: 'object', properties },
});

/** The answer of GET /api/retention (documents it in OpenAPI and serialises it). */
export const retentionAnswerSchema = {
  type: 'object',
  properties: {
    success: { type: 'boolean' },
    policy: { type: 'string', description: 'keep, delete-after-days:N or max-gb:N' },
    min_free_bytes: num,
    disk: {
      type: 'object',
      properties: { path: str, free_bytes: { type: ['number', 'null'] }, low: { type: 'boolean' } },
    },
    local_bytes: num,
    next: list({
      recording_id: str,
      session_name: str,
      file_name: str,
      size: num,
      due_at: { type: ['string', 'null'] },
      reason: str,
    }),
    kept: list({ recording_id: str, file_name: str, why: str }),
    deleted: list({
      recording_id: str,
      file_name: str,
      size: num,
      sha256: str,
      task_id: str,
      reason: str,
      deleted_at: str,
    }),
    stopped_for_low_disk: list({
      recording_id: str,
      at: str,
      free_bytes: num,
      min_free_bytes: num,
      message: str,
    }),
  },
} as const;

/** `GET /api/retention`: the policy, free space, deleted files with why, and what will be cleaned next. */
export function retentionRoutes(service: () => RetentionService | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/api/retention',
      {
        schema: {
          summary:
            'Retention: the policy, free space, what was deleted and why, what goes next, what is kept',
          tags: ['retention'],
          response: { 200: retentionAnswerSchema, '4xx': errorSchema, '5xx': errorSchema },
        },
      },
      async () => {
        const s = service();
        if (!s) throw new AppError('INVALID_STATE', 'the station is not started');
        return s.view();
      },
    );
  };
}

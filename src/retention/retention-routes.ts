import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import { errorSchema } from '../notify/index.js';
import type { RetentionService } from './retention-service.js';
import { RetentionAnswerSchema } from '../station/contract.js';

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
          response: { 200: RetentionAnswerSchema, '4xx': errorSchema, '5xx': errorSchema },
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

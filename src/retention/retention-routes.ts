import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import type { RetentionService } from './retention-service.js';

/** `GET /api/retention`: the policy, free space, deleted files with why, and what will be cleaned next. */
export function retentionRoutes(service: () => RetentionService | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get('/api/retention', async () => {
      const s = service();
      if (!s) throw new AppError('INVALID_STATE', 'the station is not started');
      return s.view();
    });
  };
}

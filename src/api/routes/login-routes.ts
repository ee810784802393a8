import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors/index.js';
import { LoginAnswerSchema } from '../../station/index.js';
import { secretsEqual, TOKEN_COOKIE } from '../request-guard.js';
import { answers } from './responses.js';

/**
 * POST /api/login: trades the station token for an HttpOnly, SameSite=Strict cookie, so the
 * page's <video>, <img> and EventSource requests (which cannot set headers) are authorised
 * and other sites' requests are not.
 */
export const loginRoutes =
  (apiToken: string | undefined): FastifyPluginAsync =>
  async (app) => {
    app.post<{ Body: { token: string } }>(
      '/api/login',
      {
        schema: {
          summary: 'Exchange the API token for a session cookie',
          tags: ['station'],
          body: {
            type: 'object',
            required: ['token'],
            properties: { token: { type: 'string', maxLength: 1000 } },
          },
          response: answers(LoginAnswerSchema),
        },
      },
      async (request, reply) => {
        if (apiToken === undefined) return { success: true, required: false };
        if (!secretsEqual(request.body.token, apiToken)) throw new AppError('UNAUTHORIZED', 'Wrong token');
        void reply.header(
          'set-cookie',
          `${TOKEN_COOKIE}=${encodeURIComponent(apiToken)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000`,
        );
        return { success: true, required: true };
      },
    );
  };

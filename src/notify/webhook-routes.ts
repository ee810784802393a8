import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../errors/index.js';
import { describeTarget, type Notifier } from './notifier.js';
import { deliveriesAnswerSchema, errorSchema } from './webhook-schemas.js';

interface Query {
  limit?: number;
  event_id?: string;
}

/**
 * `GET <path>?limit=20&event_id=evt_…`: the delivery log, most recent events first, each with
 * its deliveries (target without secrets, state, attempts, next attempt) and every attempt's
 * outcome. Registered by the station at /api/webhooks/deliveries and by the ingest server at
 * /webhooks/deliveries, behind their own auth. `notifier` undefined: an empty log.
 */
export function webhookRoutes(path: string, notifier: () => Notifier | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: Query }>(
      path,
      {
        schema: {
          summary: 'The notification delivery log: events, their deliveries and every attempt',
          tags: ['notifications'],
          querystring: {
            type: 'object',
            properties: {
              limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
              event_id: { type: 'string', pattern: '^evt_[0-9a-f]{32}$' },
            },
            additionalProperties: false,
          },
          response: { 200: deliveriesAnswerSchema, '4xx': errorSchema, '5xx': errorSchema },
        },
      },
      async (request) => {
        const n = notifier();
        const events =
          (await n?.repository.listEvents(request.query.limit ?? 20, request.query.event_id)) ?? [];
        if (request.query.event_id !== undefined && events.length === 0)
          throw new AppError('NOT_FOUND', `no event ${request.query.event_id}`);
        return {
          success: true,
          enabled: n?.enabled ?? false,
          events: events.map((e) => ({
            id: e.id,
            type: e.type,
            time: e.time,
            summary: e.summary,
            deliveries: e.deliveries.map((d) => ({
              target: describeTarget(d.target),
              state: d.state,
              attempts: d.attempts,
              next_attempt_at: d.state === 'pending' ? new Date(d.nextAttemptAt).toISOString() : null,
              last_status: d.lastStatus,
              last_error: d.lastError,
              delivered_at: d.deliveredAt,
              log: d.log.map((a) => ({
                at: a.at,
                status: a.status,
                error: a.error,
                duration_ms: a.durationMs,
              })),
            })),
          })),
        };
      },
    );
  };
}

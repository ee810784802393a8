import type { FastifyPluginAsync } from 'fastify';
import type { Station } from '../../station/index.js';
import type { EventStream } from '../event-stream.js';
import { errorAnswers } from './responses.js';

/** GET /api/events: Server-Sent Events of recording state, upload progress and processing state. */
export const eventsRoutes =
  (station: Station, events: EventStream): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/api/events',
      {
        schema: {
          summary: 'Server-Sent Events: status, upload, recordings',
          tags: ['station'],
          produces: ['text/event-stream'],
          response: errorAnswers,
        },
      },
      (request, reply) => {
        events.attach(request, reply, [['status', station.status()]]);
      },
    );
  };

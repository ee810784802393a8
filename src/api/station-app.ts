import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { Logger } from '../logging/index.js';
import { ErrorResponseSchema, packageVersion, type Station } from '../station/index.js';
import { webhookRoutes } from '../notify/index.js';
import { retentionRoutes } from '../retention/index.js';
import { metricsRoutes } from '../metrics/index.js';
import { frameworkErrorOptions } from '../server-kit/index.js';
import { registerErrorHandling } from './error-handler.js';
import { EventStream } from './event-stream.js';
import { registerRequestGuard } from './request-guard.js';
import { stationValidatorCompiler } from './validators.js';
import { eventsRoutes } from './routes/events-routes.js';
import { loginRoutes } from './routes/login-routes.js';
import { recordingRoutes } from './routes/recording-routes.js';
import { vultrRoutes } from './routes/vultr-routes.js';

export interface StationAppOptions {
  station: Station;
  logger: Logger;
  apiToken: string | undefined;
  loopbackOnly: boolean;
  /** Folder of the built web page; defaults to dist/web beside this build. */
  webRoot?: string;
}

/** Where the built page lives: dist/web, whether this code runs from dist/ or from src/ through tsx. */
export function defaultWebRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../web'), path.resolve(here, '../../dist/web')];
  return candidates.find((dir) => existsSync(path.join(dir, 'index.html'))) ?? candidates[1]!;
}

/** The station's Fastify app: routes as plugins with schemas, SSE, OpenAPI, and the web page. */
export async function buildStationApp(
  options: StationAppOptions,
): Promise<{ app: FastifyInstance; events: EventStream }> {
  const { station, logger } = options;
  const app = Fastify({
    loggerInstance: logger.child({ part: 'api' }) as FastifyBaseLogger,
    // Routes and services log what matters; a line per request would drown logs/streamai.log.
    logController: new LogController({ disableRequestLogging: true }),
    ...frameworkErrorOptions(logger),
  });
  const events = new EventStream();
  station.on('status', (s) => events.publish('status', s));
  station.on('upload', (u) => events.publish('upload', u));
  station.on('recordings', (r) => events.publish('recordings', r));

  app.setValidatorCompiler(stationValidatorCompiler());
  registerErrorHandling(app, logger);
  registerRequestGuard(app, { apiToken: options.apiToken, loopbackOnly: options.loopbackOnly });
  app.addSchema(ErrorResponseSchema);
  await app.register(fastifySwagger, {
    openapi: {
      info: {
        title: 'StreamAI station API',
        version: packageVersion,
        description: 'Recording control, uploads to the processing server, and live events.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
    },
  });
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  // A real API viewer, served from @fastify/swagger-ui's own files: works offline.
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: false });

  await app.register(loginRoutes(options.apiToken));
  await app.register(recordingRoutes(station));
  await app.register(vultrRoutes(station));
  await app.register(eventsRoutes(station, events));
  await app.register(webhookRoutes('/api/webhooks/deliveries', () => station.notifier));
  await app.register(retentionRoutes(() => station.retention));
  await app.register(metricsRoutes(() => station.metrics?.registry));
  await app.register(fastifyStatic, {
    root: options.webRoot ?? defaultWebRoot(),
    prefix: '/',
    index: ['index.html'],
    cacheControl: false,
  });
  app.addHook('onSend', async (_request, reply) => {
    // The page loads nothing from elsewhere; say so, and keep other sites from framing it.
    void reply.header(
      'content-security-policy',
      "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    );
    void reply.header('x-content-type-options', 'nosniff');
    void reply.header('referrer-policy', 'same-origin');
  });
  // preClose, not onClose: open event streams would otherwise keep server.close() waiting forever.
  app.addHook('preClose', async () => events.close());
  return { app, events };
}

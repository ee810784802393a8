import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Locker } from '@tus/server';
import type { Logger } from '../logging/index.js';
import {
  frameworkErrorOptions,
  installErrorHandler,
  registerLoopbackHostGuard,
} from '../server-kit/index.js';
import { registerCrossOriginPolicy } from './cross-origin.js';
import { createAuthHook, createOwnerOf } from './auth-hook.js';
import { healthRoutes } from './health-routes.js';
import type { IngestRouteContext } from './ingest-route-context.js';
import type { IngestService } from './ingest-service.js';
import { multipartRoutes } from './multipart-routes.js';
import { processObjectRoute } from './process-object-route.js';
import { processingRoutes } from './processing-routes.js';
import { statusRoutes } from './status-routes.js';
import { tusRoutes } from './tus-routes.js';
import type { UploadProcessor } from './upload-processor.js';

/** What the ingest app is built from. */
export interface IngestAppOptions {
  service: IngestService;
  processor: UploadProcessor | undefined;
  apiKeys: readonly string[];
  tusExpirationMs: number;
  /** Shared upload locker for several nodes; absent: @tus/server's in-memory one. */
  tusLocker?: Locker | undefined;
  tls?: { certPath: string; keyPath: string } | undefined;
  /** True when bound to loopback only: then only loopback Host names are served (DNS rebinding). */
  loopbackOnly: boolean;
  /** Browser origins allowed by CORS; empty: none (no CORS headers, cross-site writes refused). */
  corsOrigins: readonly string[];
  logger: Logger;
}

/**
 * The ingest server's Fastify app: every route plugin is registered here, behind the loopback
 * Host guard (when bound to loopback), the cross-origin policy, one auth hook (all routes but
 * /health and OPTIONS) and one JSON error reply.
 */
export async function buildIngestApp(options: IngestAppOptions): Promise<FastifyInstance> {
  const https = options.tls
    ? { https: { cert: readFileSync(options.tls.certPath), key: readFileSync(options.tls.keyPath) } }
    : {};
  const app = Fastify({
    ...https,
    loggerInstance: options.logger,
    // Routes log what matters themselves; a line per tus PATCH would drown the log.
    logController: new LogController({ disableRequestLogging: true }),
    // Uploads may take hours: no total request deadline, but a connection idle this long is dropped.
    requestTimeout: 0,
    connectionTimeout: 10 * 60 * 1000,
    keepAliveTimeout: 65 * 1000,
    bodyLimit: 1024 * 1024,
    ...frameworkErrorOptions(options.logger),
  }) as unknown as FastifyInstance;

  installErrorHandler(app, options.logger);
  // In this order: a foreign Host name learns nothing; then the browser policy; then the keys.
  if (options.loopbackOnly) registerLoopbackHostGuard(app, 'ingest server');
  registerCrossOriginPolicy(app, options.corsOrigins);
  const auth = createAuthHook(options.apiKeys);
  app.addHook('onRequest', async (request, reply) => {
    const pathname = request.url.split('?')[0];
    if (pathname === '/health' || request.method === 'OPTIONS') return;
    await auth(request, reply);
  });

  const ctx: IngestRouteContext = {
    service: options.service,
    tasks: options.service.tasks,
    processor: options.processor,
    auth,
    ownerOf: createOwnerOf(options.apiKeys),
    logger: options.logger,
  };
  await app.register(healthRoutes, ctx);
  await app.register(multipartRoutes, ctx);
  await app.register(tusRoutes, { ...ctx, expirationMs: options.tusExpirationMs, locker: options.tusLocker });
  await app.register(statusRoutes, ctx);
  await app.register(processingRoutes, ctx);
  await app.register(processObjectRoute, ctx);
  return app;
}

import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { AppError } from '../errors/index.js';

/**
 * `GET /metrics` in the Prometheus text format, behind the server's own auth (the station's
 * request guard covers /metrics; the ingest server's auth hook every route but /health).
 */
export function metricsRoutes(registry: () => Registry | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const r = registry();
      if (!r) throw new AppError('INVALID_STATE', 'metrics are not available yet');
      const text = await r.metrics();
      return reply.type(r.contentType).send(text);
    });
  };
}

/**
 * Counts bytes read from clients (request lines, headers and bodies: what crossed the wire) at
 * the end of each request, from the socket's own counter, so no body stream is touched.
 */
export function countBytesReceived(app: FastifyInstance, add: (bytes: number) => void): void {
  const counted = new WeakMap<object, number>();
  const flush = (request: FastifyRequest): void => {
    const socket = request.raw.socket as { bytesRead?: number } | undefined;
    if (!socket || typeof socket.bytesRead !== 'number') return;
    const before = counted.get(socket) ?? 0;
    if (socket.bytesRead > before) add(socket.bytesRead - before);
    counted.set(socket, socket.bytesRead);
  };
  app.addHook('onResponse', async (request) => flush(request));
  app.addHook('onRequestAbort', async (request) => flush(request));
}

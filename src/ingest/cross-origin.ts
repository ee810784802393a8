import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import { isCrossSite } from '../server-kit/index.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const ALLOWED_METHODS = 'GET, HEAD, POST, PATCH, DELETE, OPTIONS';
const ALLOWED_HEADERS = [
  'Authorization',
  'X-API-Key',
  'Content-Type',
  'Tus-Resumable',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Offset',
  'Upload-Defer-Length',
  'Upload-Checksum',
  'Upload-Sha256',
  'X-Requested-With',
].join(', ');
const EXPOSED_HEADERS = [
  'Location',
  'Upload-Offset',
  'Upload-Length',
  'Upload-Metadata',
  'Upload-Defer-Length',
  'Upload-Expires',
  'Upload-Sha256',
  'Tus-Resumable',
  'Tus-Version',
  'Tus-Extension',
  'Tus-Max-Size',
  'Tus-Checksum-Algorithm',
].join(', ');

/** The request's Origin when it is one of the configured ones, else undefined. */
function allowedOrigin(request: FastifyRequest, origins: ReadonlySet<string>): string | undefined {
  const origin = request.headers.origin;
  return typeof origin === 'string' && origins.has(origin.replace(/\/+$/, '')) ? origin : undefined;
}

/**
 * The ingest server's browser policy. No origins configured (the default, and the embedded
 * server's case): no CORS header is ever sent, preflights are refused, and a state-changing
 * request a browser sends from another site (a multipart form needs no preflight) is refused
 * with 403 CROSS_SITE_REQUEST — so a web page the user visits can neither write nor read
 * uploads. `INGEST_CORS_ORIGINS` lists the exact origins that may (answers then carry
 * `Access-Control-Allow-Origin: <that origin>` and `Vary: Origin`, never `*`).
 */
export function registerCrossOriginPolicy(app: FastifyInstance, corsOrigins: readonly string[]): void {
  const origins = new Set(corsOrigins.map((o) => o.replace(/\/+$/, '')));
  app.addHook('onRequest', async (request, reply) => {
    const origin = allowedOrigin(request, origins);
    const preflight =
      request.method === 'OPTIONS' && typeof request.headers['access-control-request-method'] === 'string';
    if (preflight) {
      if (!origin) throw new AppError('CROSS_SITE_REQUEST', 'this origin may not call the ingest server');
      return reply
        .code(204)
        .headers({
          'access-control-allow-origin': origin,
          'access-control-allow-methods': ALLOWED_METHODS,
          'access-control-allow-headers': ALLOWED_HEADERS,
          'access-control-max-age': '600',
          vary: 'Origin',
        })
        .send();
    }
    if (!origin && !SAFE_METHODS.has(request.method) && isCrossSite(request)) {
      throw new AppError('CROSS_SITE_REQUEST', 'cross-site requests may not change the ingest server');
    }
  });
  app.addHook('onSend', async (request, reply, payload) => {
    const origin = allowedOrigin(request, origins);
    if (origin) {
      void reply.header('access-control-allow-origin', origin);
      void reply.header('access-control-expose-headers', EXPOSED_HEADERS);
      void reply.header('vary', 'Origin');
    }
    return payload;
  });
}

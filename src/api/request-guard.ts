import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';
import { hostnameOf, isCrossSite, isLoopbackHost, secretsEqual } from '../server-kit/index.js';

/** Cookie the page receives from POST /api/login when the station requires a token. */
export const TOKEN_COOKIE = 'streamai_token';

// Moved to src/server-kit (shared with the ingest server); re-exported for the station's imports.
export { isLoopbackHost, secretsEqual, hostnameOf } from '../server-kit/index.js';

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

export function presentedToken(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice('Bearer '.length).trim();
  return cookieValue(request.headers.cookie, TOKEN_COOKIE);
}

export interface GuardOptions {
  /** The token every /api request must carry (header or cookie); undefined: no token needed. */
  apiToken: string | undefined;
  /** True when the station listens on loopback only: then the Host header must name loopback too. */
  loopbackOnly: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The station's three request checks, in one hook:
 * - Host: bound to loopback, only loopback Host names are served, so a DNS-rebinding page
 *   that resolves its own name to 127.0.0.1 cannot drive the station.
 * - Cross-site: a state-changing request from a browser must come from this origin
 *   (Sec-Fetch-Site, else Origin), so a page elsewhere cannot start a recording.
 * - Token: when configured, every /api route but /api/login, and /metrics, need it.
 * No CORS headers are ever sent: other origins get nothing readable.
 */
export function registerRequestGuard(app: FastifyInstance, options: GuardOptions): void {
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host ?? '';
    if (options.loopbackOnly && !isLoopbackHost(hostnameOf(host))) {
      throw new AppError('FORBIDDEN', 'This station only answers requests addressed to localhost');
    }
    if (!SAFE_METHODS.has(request.method) && isCrossSite(request)) {
      throw new AppError('CROSS_SITE_REQUEST', 'Cross-site requests may not change the station');
    }
    if (
      options.apiToken !== undefined &&
      // GET /metrics (src/metrics) is behind the same token as the API.
      (request.url.startsWith('/api/') || request.url.split('?')[0] === '/metrics') &&
      !request.url.startsWith('/api/login')
    ) {
      const token = presentedToken(request);
      if (token === undefined || !secretsEqual(token, options.apiToken)) {
        throw new AppError(
          'UNAUTHORIZED',
          'This station needs its API token (Authorization: Bearer <STREAMAI_API_TOKEN>)',
        );
      }
    }
  });
}

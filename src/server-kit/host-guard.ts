import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether a host name (no port) names this machine's loopback interface. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTNAMES.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The host name of a Host header: "[::1]:5000" → "[::1]", "localhost:5000" → "localhost". */
export function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  return hostHeader.split(':')[0] ?? '';
}

/** Compares secrets in constant time (hashing first so that lengths do not leak either). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Whether a bind address is loopback only (then the Host guard applies). */
export function isLoopbackBind(bindHost: string): boolean {
  return isLoopbackHost(bindHost.startsWith('[') || !bindHost.includes(':') ? bindHost : `[${bindHost}]`);
}

/**
 * Throws FORBIDDEN unless the request's Host header names loopback. A server bound to loopback
 * uses it so that a DNS-rebinding page (its own name resolved to 127.0.0.1) cannot drive it.
 */
export function assertLoopbackHost(request: FastifyRequest, serverName: string): void {
  if (!isLoopbackHost(hostnameOf(request.headers.host ?? ''))) {
    throw new AppError('FORBIDDEN', `This ${serverName} only answers requests addressed to localhost`);
  }
}

/** Registers the loopback Host guard as the app's first onRequest hook. */
export function registerLoopbackHostGuard(app: FastifyInstance, serverName: string): void {
  app.addHook('onRequest', async (request) => assertLoopbackHost(request, serverName));
}

/**
 * Whether a browser sent this request from another site: Sec-Fetch-Site when it sends it, else
 * Origin ("null" for sandboxed and file pages) compared with the Host. Requests with neither
 * (curl, the CLI, the station's uploader) are not from another site.
 */
export function isCrossSite(request: FastifyRequest): boolean {
  const fetchSite = request.headers['sec-fetch-site'];
  if (typeof fetchSite === 'string') return fetchSite !== 'same-origin' && fetchSite !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host !== (request.headers.host ?? '');
  } catch {
    return true; // "null" or anything unparsable
  }
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';

/** A Fastify onRequest/preHandler hook: 401 unless the request carries one of the keys. */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const header = request.headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header.trim();
  return undefined;
}

/**
 * Checks API keys in constant time (both sides hashed to the same length first, and every key
 * compared so the time does not tell which one matched). No keys configured: everyone passes.
 */
export function createAuthHook(apiKeys: readonly string[]): AuthHook {
  const expected = apiKeys.map(digest);
  return async (request) => {
    if (expected.length === 0) return;
    const key = presentedKey(request);
    if (key === undefined)
      throw new AppError('UNAUTHORIZED', 'an API key is required (Authorization: Bearer <key>)');
    const given = digest(key);
    let ok = false;
    for (const candidate of expected) ok = timingSafeEqual(candidate, given) || ok;
    if (!ok) throw new AppError('UNAUTHORIZED', 'the API key is not valid');
  };
}

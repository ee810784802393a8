import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/index.js';

/** A Fastify onRequest/preHandler hook: 401 unless the request carries one of the keys. */
export type AuthHook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Request headers as Node (Fastify) or a web `Headers` object spell them. */
type HeaderBag = Record<string, string | string[] | undefined> | Headers;

function header(headers: HeaderBag, name: string): string | undefined {
  const value = headers instanceof Headers ? headers.get(name) : headers[name];
  return typeof value === 'string' ? value : undefined;
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(request: FastifyRequest): string | undefined {
  return presentedKeyIn(request.headers);
}

/** The key in a set of request headers (see `presentedKey`). */
export function presentedKeyIn(headers: HeaderBag): string | undefined {
  const authorization = header(headers, 'authorization');
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match?.[1]) return match[1].trim();
  }
  const apiKey = header(headers, 'x-api-key');
  if (apiKey !== undefined && apiKey.length > 0) return apiKey.trim();
  return undefined;
}

/**
 * Who owns what a request creates: the sha256 (hex) of its API key — the key itself is never
 * stored — or null when the server has no keys (then nothing has an owner).
 */
export type OwnerOf = (headers: HeaderBag) => string | null;

export function createOwnerOf(apiKeys: readonly string[]): OwnerOf {
  return (headers) => {
    if (apiKeys.length === 0) return null;
    const key = presentedKeyIn(headers);
    return key === undefined ? null : digest(key).toString('hex');
  };
}

/** FORBIDDEN unless the task has no owner or `owner` is its owner (compared in constant time). */
export function assertOwner(
  task: { taskId: string; ownerKeySha256: string | null },
  owner: string | null,
): void {
  if (task.ownerKeySha256 === null) return;
  const expected = Buffer.from(task.ownerKeySha256, 'hex');
  const given = Buffer.from(owner ?? '', 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new AppError('FORBIDDEN', `task ${task.taskId} was uploaded with another API key`);
  }
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

import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { ExchangePool } from './http-exchange.js';
import { AppError } from '../errors/index.js';
import { parseRetryAfter } from './retry-policy.js';
import type { UploadSettings } from './upload-types.js';

/** A server's answer, read whole (answers are short: JSON or empty). */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | undefined>;
  text: string;
}

/** The largest answer body kept; anything longer is cut (answers are meant to be small JSON). */
const MAX_ANSWER_BYTES = 1024 * 1024;

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
]);

function headerMap(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(headers)) {
    out[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

async function readAnswer(body: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < MAX_ANSWER_BYTES) {
      parts.push(Buffer.from(chunk));
      size += chunk.length;
    }
  }
  return Buffer.concat(parts).toString('utf8').slice(0, MAX_ANSWER_BYTES);
}

/** `{success:false, error:{code, message}}` or `{error: "…"}` or `{message}` → the server's words. */
function serverMessage(text: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') {
      const record = parsed as Record<string, unknown>;
      const error = record['error'];
      if (error && typeof error === 'object') {
        const message = (error as Record<string, unknown>)['message'];
        if (typeof message === 'string') return message;
      }
      if (typeof error === 'string') return error;
      if (typeof record['message'] === 'string') return record['message'];
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, 200);
}

/**
 * Maps a refusal to an AppError whose message tells the user what to do. 5xx, 429 and 507
 * are temporary (see retry-policy.ts); the 4xx codes are final.
 */
export function errorFromAnswer(answer: HttpAnswer, what: string): AppError {
  const said = serverMessage(answer.text);
  const suffix = said ? ` (server: ${said})` : '';
  const details = { httpStatus: answer.status, retryAfterMs: parseRetryAfter(answer.headers['retry-after']) };
  switch (answer.status) {
    case 400:
      return new AppError('BAD_REQUEST', `${what}: the server called the request malformed${suffix}`, {
        details,
      });
    case 401:
    case 403:
      return new AppError(
        'UNAUTHORIZED',
        `${what}: the server refused the API key (HTTP ${answer.status}); set VULTR_API_KEY to a key the server accepts${suffix}`,
        { details },
      );
    case 409:
      return new AppError(
        'TASK_CONFLICT',
        `${what}: the server already holds this task id with different content; enqueue the file again to upload it as a new task${suffix}`,
        { details },
      );
    case 413:
      return new AppError(
        'PAYLOAD_TOO_LARGE',
        `${what}: the file is larger than the server accepts; raise the server's limit or compress it (VULTR_COMPRESS=h264)${suffix}`,
        { details },
      );
    case 415:
      return new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${what}: the server does not accept this file type as a recording${suffix}`,
        { details },
      );
    case 422:
    case 460:
      return new AppError(
        'CHECKSUM_MISMATCH',
        `${what}: the server computed a different sha256 than this station; the file may have changed or been damaged in transit — upload it again${suffix}`,
        { details },
      );
    case 429:
      return new AppError('RATE_LIMITED', `${what}: the server asked to slow down (HTTP 429)${suffix}`, {
        details,
      });
    case 507:
      return new AppError(
        'INSUFFICIENT_STORAGE',
        `${what}: the server is out of disk space (HTTP 507); it will be retried later${suffix}`,
        { details },
      );
    default:
      if (answer.status >= 500) {
        return new AppError('SERVER_ERROR', `${what}: the server failed (HTTP ${answer.status})${suffix}`, {
          details,
        });
      }
      return new AppError('UPLOAD_FAILED', `${what}: unexpected answer HTTP ${answer.status}${suffix}`, {
        details,
      });
  }
}

/** Maps a connection-level failure (refused, reset, timeout, TLS) to an AppError. */
export function errorFromNetwork(error: unknown, what: string, baseUrl: string): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const causeCode = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  const name = typeof code === 'string' ? code : typeof causeCode === 'string' ? causeCode : undefined;
  if (name && TLS_CODES.has(name)) {
    return new AppError(
      'TLS_FAILED',
      `${what}: the server's certificate is not trusted (${name}); for a self-signed server set VULTR_CA_CERT to its CA's PEM file`,
      { cause: error },
    );
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new AppError('SERVER_UNREACHABLE', `${what}: cannot reach ${baseUrl} (${name ?? reason})`, {
    cause: error,
  });
}

/**
 * HTTP to the processing server over node's own client (http-exchange.ts): one keep-alive pool
 * with a connect timeout and the optional custom CA. Short requests are bounded by VULTR_UPLOAD_TIMEOUT; upload bodies
 * have no overall deadline (the caller's stall watchdog aborts them instead).
 */
export class UploadHttpClient {
  readonly baseUrl: string;
  private readonly pool: ExchangePool;

  constructor(private readonly settings: UploadSettings) {
    this.baseUrl = settings.apiUrl;
    let ca: string[] | undefined;
    if (settings.caCertPath !== undefined) {
      try {
        // Added to the public roots rather than replacing them, so public servers keep working.
        ca = [...rootCertificates, readFileSync(settings.caCertPath, 'utf8')];
      } catch (error) {
        throw new AppError('CONFIG_INVALID', `VULTR_CA_CERT: cannot read ${settings.caCertPath}`, {
          cause: error,
        });
      }
    }
    this.pool = new ExchangePool(ca);
  }

  /** An absolute URL for a path on the server (or a URL the server gave, made absolute). */
  resolve(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.baseUrl + '/').toString();
  }

  /** The headers every request carries. */
  authHeaders(): Record<string, string> {
    return this.settings.apiKey ? { authorization: `Bearer ${this.settings.apiKey}` } : {};
  }

  /**
   * A short request (no big body): its answer must begin within VULTR_UPLOAD_CONNECT_TIMEOUT
   * (health checks, tus HEAD/POST/DELETE and /status are answered at once by a live server, so
   * silence means a dead route; without this a retry after a stall hung for the whole
   * VULTR_UPLOAD_TIMEOUT), and the whole answer within VULTR_UPLOAD_TIMEOUT.
   */
  async short(
    method: 'GET' | 'HEAD' | 'POST' | 'DELETE' | 'PATCH',
    pathOrUrl: string,
    options: { headers?: Record<string, string>; body?: string; signal?: AbortSignal; what: string },
  ): Promise<HttpAnswer> {
    const timeout = AbortSignal.timeout(this.settings.requestTimeoutMs);
    const silence = new AbortController();
    const silenceTimer = setTimeout(() => silence.abort(), this.settings.connectTimeoutMs);
    const signals = [timeout, silence.signal, ...(options.signal ? [options.signal] : [])];
    try {
      const res = await this.pool.exchange(this.resolve(pathOrUrl), {
        method,
        headers: { ...this.authHeaders(), ...options.headers },
        body: options.body,
        signal: AbortSignal.any(signals),
        connectTimeoutMs: this.settings.connectTimeoutMs,
      });
      clearTimeout(silenceTimer);
      const text = await readAnswer(res);
      return { status: res.statusCode ?? 0, headers: headerMap(res.headers), text };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (silence.signal.aborted) {
        throw new AppError(
          'SERVER_UNREACHABLE',
          `${options.what}: no answer from ${this.baseUrl} within ${this.settings.connectTimeoutMs / 1000} s (VULTR_UPLOAD_CONNECT_TIMEOUT)`,
          { cause: error },
        );
      }
      if (timeout.aborted) {
        throw new AppError(
          'SERVER_UNREACHABLE',
          `${options.what}: no answer from ${this.baseUrl} within ${Math.round(this.settings.requestTimeoutMs / 1000)} s`,
          { cause: error },
        );
      }
      throw errorFromNetwork(error, options.what, this.baseUrl);
    } finally {
      clearTimeout(silenceTimer);
    }
  }

  /**
   * Sends a (large) body. `signal` is the caller's: its stall watchdog and cancellation abort
   * through it, and its reason is what this throws.
   */
  async send(
    method: 'POST' | 'PATCH',
    pathOrUrl: string,
    options: {
      headers: Record<string, string>;
      body: AsyncIterable<Uint8Array>;
      signal: AbortSignal;
      what: string;
    },
  ): Promise<HttpAnswer> {
    try {
      const res = await this.pool.exchange(this.resolve(pathOrUrl), {
        method,
        headers: { ...this.authHeaders(), ...options.headers },
        // Written piece by piece, each next piece asked for once the socket drained:
        // file-body.ts relies on that pacing.
        body: options.body,
        signal: options.signal,
        connectTimeoutMs: this.settings.connectTimeoutMs,
      });
      const text = await readAnswer(res);
      return { status: res.statusCode ?? 0, headers: headerMap(res.headers), text };
    } catch (error) {
      if (options.signal.aborted) throw options.signal.reason;
      throw errorFromNetwork(error, options.what, this.baseUrl);
    }
  }

  /**
   * A GET whose body is streamed to the caller (processed outputs: thumbnails, videos); only
   * the wait for the headers is bounded by VULTR_UPLOAD_TIMEOUT. The caller must consume or
   * destroy `body`.
   */
  async stream(
    pathOrUrl: string,
    options: { what: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Record<string, string | undefined>; body: Readable }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.settings.requestTimeoutMs);
    try {
      const res = await this.pool.exchange(this.resolve(pathOrUrl), {
        method: 'GET',
        headers: { ...this.authHeaders(), ...options.headers },
        signal: controller.signal,
        connectTimeoutMs: this.settings.connectTimeoutMs,
      });
      return { status: res.statusCode ?? 0, headers: headerMap(res.headers), body: res };
    } catch (error) {
      throw errorFromNetwork(error, options.what, this.baseUrl);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): Promise<void> {
    this.pool.close();
    return Promise.resolve();
  }
}

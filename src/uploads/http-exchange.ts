import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** A request's body: a short string, or pieces written one at a time as the socket takes them. */
export type ExchangeBody = string | AsyncIterable<Uint8Array>;

export interface ExchangeOptions {
  method: string;
  headers: Record<string, string>;
  body?: ExchangeBody | undefined;
  /** Aborts the request (connecting, sending or waiting); the promise rejects with an AbortError. */
  signal?: AbortSignal | undefined;
  /** The TCP (and TLS) connection must be up within this many ms; 0: no bound. */
  connectTimeoutMs: number;
}

/** An error of the connection itself, with a stable `code` as node's socket errors carry. */
function connectTimeout(ms: number): Error {
  return Object.assign(new Error(`connect timeout after ${ms} ms`), { code: 'ETIMEDOUT' });
}

/**
 * Keep-alive pools for http and https, as undici's Agent was: node's own client is in the
 * binary's snapshot (undici costs ~100 ms of module loading at every CLI start) and writes a
 * body with less work per piece (measured in docs/BENCHMARKS.md, "Target met: node's HTTP client…").
 * A pooled socket lives 10 s unless the server's `Keep-Alive: timeout=` hint is shorter
 * (node's Agent honours it), so a server that closes idle connections is not raced.
 */
export class ExchangePool {
  private readonly plain = new http.Agent({ keepAlive: true, timeout: 10_000 });
  private secure: https.Agent | undefined;

  constructor(private readonly ca?: string[] | undefined) {}

  private agentFor(url: URL): http.Agent {
    if (url.protocol !== 'https:') return this.plain;
    this.secure ??= new https.Agent({
      keepAlive: true,
      timeout: 10_000,
      ...(this.ca ? { ca: this.ca } : {}),
    });
    return this.secure;
  }

  /**
   * Sends one request and resolves with the answer once its head arrived; the caller reads or
   * destroys the answer's body. An answer that comes while the body is still being sent (a
   * refusal: 409, 413, 507…) ends the sending and resolves all the same, as a browser does; the
   * connection is then closed rather than reused. A body that throws (the file changed, the
   * rate limiter was aborted) rejects with its own error.
   */
  exchange(target: string, options: ExchangeOptions): Promise<IncomingMessage> {
    const url = new URL(target);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      let answered = false;
      let settled = false;
      const fail = (error: unknown): void => {
        if (settled) return;
        settled = true;
        reject(error);
      };
      const request = transport.request(url, {
        method: options.method,
        headers: options.headers,
        agent: this.agentFor(url),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      request.on('error', fail);
      request.on('response', (answer) => {
        answered = true;
        if (settled) return void answer.destroy();
        settled = true;
        // An answer before the whole body went out: once it is read, the connection (its body
        // cut short) cannot carry another request.
        if (!request.writableEnded) answer.once('close', () => request.destroy());
        resolve(answer);
      });
      request.on('socket', (socket) => {
        if (options.connectTimeoutMs <= 0 || !socket.connecting) return;
        const timer = setTimeout(
          () => request.destroy(connectTimeout(options.connectTimeoutMs)),
          options.connectTimeoutMs,
        );
        const clear = (): void => clearTimeout(timer);
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', clear);
        socket.once('close', clear);
      });
      const { body } = options;
      if (body === undefined || typeof body === 'string') {
        request.end(body);
        return;
      }
      void (async () => {
        for await (const piece of body) {
          if (answered || request.destroyed) break; // for-await's break closes the body (its file)
          if (!request.write(piece)) {
            await new Promise<void>((done) => {
              const go = (): void => {
                request.off('drain', go);
                request.off('close', go);
                request.off('response', go);
                done();
              };
              request.on('drain', go);
              request.on('close', go);
              request.on('response', go);
            });
          }
        }
        if (!answered && !request.destroyed) request.end();
      })().catch((error: unknown) => {
        fail(error);
        request.destroy();
      });
    });
  }

  /** Closes every pooled connection. */
  close(): void {
    this.plain.destroy();
    this.secure?.destroy();
  }
}

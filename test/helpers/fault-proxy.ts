import net from 'node:net';
import type { TestContext } from 'node:test';

/** What goes wrong between client and server, the way tusd's tests use toxiproxy. */
export interface FaultPlan {
  /** Client→server bytes per second (all connections together); undefined: full speed. */
  throttleBytesPerSecond?: number | undefined;
  /**
   * Once the total client→server byte count reaches `at`, do `kind` to the connection carrying
   * that byte: `stall` stops reading from the client (the server hears nothing more), `cut`
   * closes both sides politely (FIN), `reset` aborts both sides (RST). One-shot. A stall with
   * `forMs` heals by itself after that long (the connection carries on where it stopped).
   */
  fault?: { kind: 'stall' | 'cut' | 'reset'; at: number; forMs?: number } | undefined;
  /** Answer the next `count` connections with this raw HTTP response instead of forwarding. */
  respond?: { count: number; status: number; body?: string; headers?: Record<string, string> } | undefined;
  /** Accept and reset every connection at once, as if no server listened. */
  refuse?: boolean | undefined;
  /** Read what clients send, on new and open connections, and drop it: nothing answers (a dead route). */
  blackhole?: boolean | undefined;
}

/** A running proxy: its URL, what it has forwarded, and a way to change the plan. */
export interface FaultProxy {
  url: string;
  port: number;
  /** Client→server bytes forwarded so far (what the server could have received). */
  readonly bytesUp: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Faults that have fired, in order. */
  readonly fired: string[];
  set(plan: FaultPlan): void;
  close(): Promise<void>;
}

const MAX_CONNECTIONS = 64;

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * A small fault-injecting TCP proxy on 127.0.0.1 (port 0 unless given) in front of `target`
 * (which must be a loopback URL). Bounded: at most 64 connections at once; closed when the
 * test ends.
 */
export async function startFaultProxy(
  t: TestContext | undefined,
  target: string,
  plan: FaultPlan = {},
  options: { port?: number } = {},
): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const host = targetUrl.hostname.replace(/^\[|\]$/g, '');
  if (!isLoopback(host)) throw new Error(`fault proxy: target ${target} is not a loopback address`);
  const targetPort = Number(targetUrl.port || (targetUrl.protocol === 'https:' ? 443 : 80));

  let current: FaultPlan = { ...plan };
  let bytesUp = 0;
  let connections = 0;
  const fired: string[] = [];
  const sockets = new Set<net.Socket>();
  // Throttle: the time (ms, performance clock) at which the link is free again.
  let linkFreeAt = 0;

  const server = net.createServer((client) => {
    connections += 1;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    if (sockets.size > MAX_CONNECTIONS || current.refuse) {
      client.resetAndDestroy();
      return;
    }
    if (current.blackhole) {
      fired.push('blackhole');
      client.resume();
      return;
    }
    if (current.respond && current.respond.count > 0) {
      const r = current.respond;
      r.count -= 1;
      if (r.count === 0) current = { ...current, respond: undefined };
      const body =
        r.body ?? JSON.stringify({ success: false, error: { code: 'X', message: `injected ${r.status}` } });
      const headers = { 'content-type': 'application/json', ...r.headers };
      fired.push(`respond ${r.status}`);
      const head = Object.entries(headers)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      // Read the request head first so the client is not cut off mid-write before the answer.
      client.once('data', () => {
        client.end(
          `HTTP/1.1 ${r.status} Injected\r\n${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      });
      return;
    }
    const upstream = net.connect({ host, port: targetPort });
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.pipe(client);

    let stalled = false;
    let chain = Promise.resolve();
    client.on('data', (chunk: Buffer) => {
      if (stalled) return;
      if (current.blackhole) {
        fired.push('blackhole');
        return;
      }
      client.pause();
      chain = chain.then(async () => {
        let data = chunk;
        const fault = current.fault;
        let fire: 'stall' | 'cut' | 'reset' | undefined;
        let healAfterMs: number | undefined;
        if (fault && bytesUp + data.length >= fault.at) {
          healAfterMs = fault.forMs;
          data = data.subarray(0, Math.max(0, fault.at - bytesUp));
          fire = fault.kind;
          current = { ...current, fault: undefined };
        }
        const rate = current.throttleBytesPerSecond;
        if (rate && data.length > 0) {
          const now = performance.now();
          linkFreeAt = Math.max(linkFreeAt, now) + (data.length / rate) * 1000;
          const wait = linkFreeAt - now;
          if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        if (upstream.destroyed) return;
        bytesUp += data.length;
        if (data.length > 0 && !upstream.write(data))
          await new Promise((resolve) => upstream.once('drain', resolve));
        if (fire) {
          fired.push(`${fire} at ${bytesUp}`);
          if (fire === 'stall') {
            if (healAfterMs !== undefined) {
              // A pause: the rest of this chunk goes on once it heals.
              const rest = chunk.subarray(data.length);
              await new Promise((resolve) => setTimeout(resolve, healAfterMs));
              fired.push(`healed at ${bytesUp}`);
              if (upstream.destroyed) return;
              bytesUp += rest.length;
              if (rest.length > 0 && !upstream.write(rest))
                await new Promise((resolve) => upstream.once('drain', resolve));
              client.resume();
              return;
            }
            stalled = true;
            return;
          }
          if (fire === 'cut') {
            upstream.end();
            client.end();
          } else {
            upstream.resetAndDestroy();
            client.resetAndDestroy();
          }
          return;
        }
        if (!stalled) client.resume();
      });
    });
    client.on('end', () => {
      void chain.then(() => upstream.end());
    });
  });
  server.maxConnections = MAX_CONNECTIONS * 2;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let closed = false;
  const proxy: FaultProxy = {
    url: `${targetUrl.protocol}//127.0.0.1:${port}`,
    port,
    get bytesUp() {
      return bytesUp;
    },
    get connections() {
      return connections;
    },
    fired,
    set(next) {
      current = { ...next };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t?.after(() => proxy.close());
  return proxy;
}

/** A loopback port that was free a moment ago (for a server that starts later). */
export { freePort } from './service-process.js';

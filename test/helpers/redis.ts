import { freePort, spawnService, waitForPort, type CleanupScope } from './service-process.js';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A throw-away Redis (Debian redis-server) on a free loopback port, nothing written to disk. */
export async function startRedis(t: CleanupScope): Promise<RedisServer> {
  const port = await freePort();
  const service = spawnService('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  t.after(service.stop);
  try {
    await waitForPort(port, 10_000, service.child);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${service.output()}`);
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop: service.stop };
}

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { freePort, spawnService, waitForPort } from './service-process.js';

export interface Balancer {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/**
 * nginx (Debian nginx-light) as a round-robin balancer in front of `upstreams` (host:port),
 * configured for uploads as docs/DEPLOY.md says: no body size limit, request bodies streamed
 * (not buffered to disk), HTTP/1.1 upstream, and the next node tried when one is down.
 */
export async function startBalancer(t: TestContext, upstreams: string[]): Promise<Balancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-nginx-'));
  const port = await freePort();
  const conf = `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream ingest { ${upstreams.map((u) => `server ${u} max_fails=1 fail_timeout=5s;`).join(' ')} }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    proxy_request_buffering off;
    proxy_buffering off;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-Proto $scheme;
    proxy_next_upstream error timeout http_502 http_503 non_idempotent;
    proxy_read_timeout 300s;
    location / { proxy_pass http://ingest; }
  }
}
`;
  await writeFile(path.join(dir, 'nginx.conf'), conf);
  const service = spawnService('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  const stop = async (): Promise<void> => {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);
  try {
    await waitForPort(port, 10_000, service.child);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${service.output()}`);
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

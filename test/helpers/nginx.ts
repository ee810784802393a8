import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, spawnService, waitForPort, type CleanupScope } from './service-process.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface Balancer {
  /** http://127.0.0.1:<port> */
  url: string;
  stop(): Promise<void>;
}

/**
 * The server block docs/DEPLOY.md ships (deploy/nginx/streamai-ingest.conf) with its two marked
 * lines replaced: the upstream nodes, and a plain-HTTP listen on loopback instead of 443 ssl.
 */
export async function deployedNginxConfig(upstreams: string[], port: number): Promise<string> {
  const conf = await readFile(path.join(root, 'deploy/nginx/streamai-ingest.conf'), 'utf8');
  const lines = conf.split('\n');
  const upstreamAt = lines.findIndex((l) => l.includes('# @upstreams'));
  const listenAt = lines.findIndex((l) => l.includes('# @listen'));
  if (upstreamAt < 0 || listenAt < 0)
    throw new Error('deploy/nginx/streamai-ingest.conf lost its @upstreams/@listen marks');
  const indent = (lines[upstreamAt] ?? '').match(/^\s*/)?.[0] ?? '';
  lines[upstreamAt] = upstreams.map((u) => `${indent}server ${u} max_fails=1 fail_timeout=5s;`).join('\n');
  lines[listenAt] = `${indent}listen 127.0.0.1:${port};`;
  return lines.join('\n');
}

/** A whole nginx.conf (foreground, files in `dir`) around the shipped server block. */
export async function balancerConfig(dir: string, upstreams: string[], port: number): Promise<string> {
  return `daemon off;
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
${await deployedNginxConfig(upstreams, port)}
}
`;
}

/** nginx (Debian nginx-light) as the balancer of docs/DEPLOY.md in front of `upstreams` (host:port). */
export async function startBalancer(t: CleanupScope, upstreams: string[]): Promise<Balancer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'streamai-nginx-'));
  const port = await freePort();
  await writeFile(path.join(dir, 'nginx.conf'), await balancerConfig(dir, upstreams, port));
  const service = spawnService('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  const stop = async (): Promise<void> => {
    await service.stop();
    await rm(dir, { recursive: true, force: true });
  };
  t.after(stop);
  try {
    await waitForPort(port, 10_000, service.child);
  } catch (error) {
    throw new Error(
      `${(error as Error).message}\n${service.output()}\n${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`,
    );
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}

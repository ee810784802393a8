import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, spawnService, waitForPort, type CleanupScope } from './service-process.js';

/** Debian's PostgreSQL server binaries (the newest major version installed). */
function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (newest === undefined)
    throw new Error('PostgreSQL is not installed (Debian package postgresql); npm test installs it as root');
  return path.join(root, newest, 'bin');
}

/** The uid/gid of the `postgres` user: PostgreSQL refuses to run as root. */
function postgresUser(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** The port opens before recovery ends ("the database system is starting up"): ask pg_isready. */
async function waitUntilAcceptingQueries(pgIsReady: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (spawnSync(pgIsReady, ['-q', '-h', '127.0.0.1', '-p', String(port)]).status !== 0) {
    if (Date.now() > deadline)
      throw new Error(`PostgreSQL on ${port} did not accept queries within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A throw-away PostgreSQL server: initdb into a temporary folder owned by `postgres`, started
 * on a free loopback port with its socket in that folder; stopped and removed when the test ends.
 */
export async function startPostgres(t: CleanupScope): Promise<PostgresServer> {
  const bin = postgresBin();
  const dir = mkdtempSync(path.join(tmpdir(), 'streamai-pg-'));
  const dataDir = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
  }
  const [initCmd, initArgs] = run(path.join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const [cmd, args] = run(path.join(bin, 'postgres'), [
    '-D',
    dataDir,
    '-k',
    dir,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const service = spawnService(cmd, args);
  const stop = async (): Promise<void> => {
    await service.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  t.after(stop);
  try {
    await waitForPort(port, 15_000, service.child);
    await waitUntilAcceptingQueries(path.join(bin, 'pg_isready'), port, 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${service.output()}`);
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, port, stop };
}

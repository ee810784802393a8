import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseDotenv } from 'dotenv';

/** The repository's deploy/ folder: what docs/DEPLOY.md installs on the machines. */
export const deployDir = path.resolve(import.meta.dirname, '../../deploy');

/** A systemd unit's [Service] settings that the tests read. */
export interface ServiceUnit {
  /** ExecStart split on spaces (the units use no quoting). */
  execStart: string[];
  /** EnvironmentFile's path on the machine, e.g. /etc/streamai/ingest.env. */
  environmentFile: string;
  /** Every key=value of [Service], the last one winning. */
  service: Record<string, string>;
}

/** Reads deploy/systemd/<name>.service (INI-like: sections, key=value, # comments). */
export async function readServiceUnit(name: string): Promise<ServiceUnit> {
  const text = await readFile(path.join(deployDir, 'systemd', `${name}.service`), 'utf8');
  const service: Record<string, string> = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (section === 'Service' && eq > 0) service[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const execStart = (service.ExecStart ?? '').split(/\s+/).filter(Boolean);
  const environmentFile = (service.EnvironmentFile ?? '').replace(/^-/, '');
  return { execStart, environmentFile, service };
}

/**
 * The environment file an EnvironmentFile= names, from deploy/env/<basename> (comments and
 * placeholders included as written; `<…>` marks what the operator fills in).
 */
export async function readDeployedEnv(environmentFile: string): Promise<Record<string, string>> {
  return parseDotenv(await readFile(path.join(deployDir, 'env', path.basename(environmentFile)), 'utf8'));
}

/**
 * A unit's ExecStart as a command on this checkout: `/usr/bin/node /opt/streamai/bin/streamai.js
 * <args>` becomes this node binary running src/cli/main.ts through tsx, with the same arguments.
 */
export function localCommand(unit: ServiceUnit): { command: string; args: string[] } {
  const [node, script, ...args] = unit.execStart;
  if (node !== '/usr/bin/node' || script !== '/opt/streamai/bin/streamai.js') {
    throw new Error(`unexpected ExecStart: ${unit.execStart.join(' ')}`);
  }
  return { command: process.execPath, args: ['--import', 'tsx', 'src/cli/main.ts', ...args] };
}

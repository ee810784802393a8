import { randomUUID } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { processIsGone } from '../store/process-gone.js';

/**
 * The pid namespace of this process (Linux: `/proc/self/ns/pid` → `pid:[4026531836]`): two
 * processes see each other's pids only within one. Empty where it cannot be read.
 */
function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
  } catch {
    return '';
  }
}

const HERE = `${hostname()}:${pidNamespace()}`;

/**
 * Lease owner ids: `lease:<hostname>:<pid namespace>:<pid>:<uuid>`, so a process can tell a
 * lease held by a process of its own host and pid namespace that no longer exists (killed,
 * crashed), and take the task over at once instead of waiting for the lease to expire:
 * `streamai upload` run again after a SIGKILL resumes in a moment, not after a lease (15 s).
 * Only a pid that is certainly gone counts (ESRCH, in the same pid namespace); a lease from
 * another host or container, one in the older `lease_<uuid>` form, or with a pid some other
 * process now has, still waits for its expiry, which is always safe.
 */
export function newLeaseOwner(): string {
  return `lease:${HERE}:${process.pid}:${randomUUID()}`;
}

/** True when `owner` names a process of this host and pid namespace that has exited. */
export function isDeadLocalOwner(owner: string): boolean {
  const [kind, host, namespace, pidText] = owner.split(':');
  if (kind !== 'lease' || `${host}:${namespace}` !== HERE || namespace === '') return false;
  return pidText !== undefined && /^\d+$/.test(pidText) && processIsGone(Number(pidText));
}

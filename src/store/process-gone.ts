/**
 * Whether the process `pid` of this pid namespace has certainly exited (`kill(pid, 0)` answers
 * ESRCH). A process that exists under another user (EPERM), or this very process, is not gone.
 * Used to take over a lease whose owner died on this machine without waiting for its expiry.
 */
export function processIsGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

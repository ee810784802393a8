import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logging/index.js';
import { segmentFolderFor } from '../recorder/index.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a recording process a crashed run left behind (ffmpeg keeps recording when its parent
 * dies), so that its file is finalised before it is attached. Only a process whose command
 * line names the recording's file is touched: a reused pid belongs to someone else.
 * SIGINT (ffmpeg finalises the file), then SIGKILL after `graceMs`.
 */
export async function stopOrphanRecorder(
  pid: number,
  outputPath: string,
  logger: Logger,
  graceMs = 15_000,
): Promise<boolean> {
  let cmdline: string;
  try {
    cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ');
  } catch {
    return false; // gone, or not a system with /proc: nothing to stop
  }
  // A segmented recording's ffmpeg names its parts' folder rather than the recording's file.
  if (!cmdline.includes(outputPath) && !cmdline.includes(segmentFolderFor(outputPath))) return false;
  logger.warn({ pid, outputPath }, 'stopping a recorder left running by a previous run');
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
    while (alive(pid) && Date.now() < deadline + 5000) await sleep(100);
  }
  return true;
}

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, constants, rename, rm, stat } from 'node:fs/promises';
import { AppError } from '../errors/index.js';
import { exists } from './session-files.js';

/** sha256 of a file, streamed (hex). */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Moves a file: a rename when source and target share a filesystem; otherwise copy, verify
 * (size and sha256) and only then delete the source. Never overwrites an existing target.
 */
export async function moveFile(source: string, target: string): Promise<void> {
  if (await exists(target)) {
    throw new AppError('FILE_CHANGED', `will not overwrite ${target}`);
  }
  try {
    await rename(source, target);
    return;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
  }
  await copyFile(source, target, constants.COPYFILE_EXCL);
  const [from, to] = await Promise.all([stat(source), stat(target)]);
  const same = from.size === to.size && (await sha256File(source)) === (await sha256File(target));
  if (!same) {
    await rm(target, { force: true });
    throw new AppError('FILE_CHANGED', `copy of ${source} does not match the original; kept the original`);
  }
  await rm(source);
}

import { rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes one output file so that it is never seen half-written: the producer writes a hidden
 * temporary name, which is renamed into place only when the producer succeeds.
 */
export async function writeOutput(
  outputDir: string,
  name: string,
  produce: (temporaryPath: string) => Promise<void>,
): Promise<string> {
  const final = path.join(outputDir, name);
  const temporary = path.join(outputDir, `.${name}.partial`);
  try {
    await produce(temporary);
    await rename(temporary, final);
  } finally {
    await rm(temporary, { force: true });
  }
  return final;
}

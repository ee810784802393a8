import type { Command } from 'commander';

/** Registers the upload commands. */
export function registerUploadCommands(_program: Command): void {
  // Filled in by the upload work.
}

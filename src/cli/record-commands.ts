import type { Command } from 'commander';

/** Registers the record commands. */
export function registerRecordCommands(_program: Command): void {
  // Filled in by the record work.
}

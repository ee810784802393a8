import type { Command } from 'commander';

/** Registers the serve commands. */
export function registerServeCommands(_program: Command): void {
  // Filled in by the serve work.
}

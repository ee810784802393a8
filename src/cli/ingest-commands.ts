import type { Command } from 'commander';

/** Registers the ingest commands. */
export function registerIngestCommands(_program: Command): void {
  // Filled in by the ingest work.
}

import type { Command } from 'commander';
import { lazyAction } from './run-action.js';

/** Registers `streamai start` and `streamai stop`: recording control of the running station. */
export function registerStationCommands(program: Command): void {
  program
    .command('start')
    .description('Start recording on the running station (streamai serve) into a session')
    .option(
      '-s, --session-name <name>',
      'session (folder) name; spaces and accents are kept (default: recording_session_<YYYYMMDD_HHMMSS>)',
    )
    .option('--json', 'print JSON')
    .action(lazyAction(async () => (await import('./station-actions.js')).startAction));
  program
    .command('stop')
    .description('Stop the running station’s recording; prints the finished recording')
    .option('--json', 'print JSON')
    .action(lazyAction(async () => (await import('./station-actions.js')).stopAction));
}

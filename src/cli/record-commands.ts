import type { Command } from 'commander';
import { lazyAction } from './run-action.js';

/** Registers `streamai record`, `streamai list` and `streamai status`. */
export function registerRecordCommands(program: Command): void {
  program
    .command('record')
    .description(
      'Record a session until Ctrl-C or --duration, then upload it (when auto-upload is on) and print a summary',
    )
    .option(
      '-s, --session-name <name>',
      'session (folder) name; spaces and accents are kept (default: recording_session_<YYYYMMDD_HHMMSS>)',
    )
    .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)')
    .option('--recorder <kind>', 'obs or ffmpeg (default: RECORDER)')
    .option(
      '--source <source>',
      'ffmpeg source: testsrc, screen, v4l2:<device>, url:<input> (default: FFMPEG_SOURCE)',
    )
    .option('--no-upload', 'do not upload, even with VULTR_AUTO_UPLOAD=true')
    .option('--no-process', 'upload with auto_process=false (the server stores but does not process)')
    .action(lazyAction(async () => (await import('./record-actions.js')).recordAction));
  program
    .command('list')
    .description('List recorded sessions and their recordings, most recent first')
    .option('--limit <n>', 'sessions to show', '50')
    .option('--json', 'print JSON')
    .action(lazyAction(async () => (await import('./record-actions.js')).listAction));
  program
    .command('status')
    .description("Show the recorder's reachability and the station's sessions and uploads")
    .option('--json', 'print JSON')
    .action(lazyAction(async () => (await import('./record-actions.js')).statusAction));
}

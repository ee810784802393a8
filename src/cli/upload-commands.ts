import type { Command } from 'commander';
import { lazyAction } from './run-action.js';

/** Registers `upload`, `uploads`, `upload-status` and `test`. */
export function registerUploadCommands(program: Command): void {
  program
    .command('upload')
    .description(
      'Upload a recording to the processing server (VULTR_API_URL): resumable, retried, verified by sha256. ' +
        'Runs in the foreground until the server confirms; prints the task id, then the result.',
    )
    .argument('<file>', 'the recording to upload')
    .option('--session-name <name>', 'session name sent with the upload')
    .option('--no-process', 'ask the server not to process it (auto_process=false)')
    .option('--wait', 'show a progress bar (bytes, rate, ETA) until the server confirms', false)
    .option('--json', 'print the finished task as JSON instead of text', false)
    .action(lazyAction(async () => (await import('./upload-actions.js')).uploadAction));

  program
    .command('uploads')
    .description('List upload tasks on this station, most recent first')
    .option('--limit <n>', 'how many (1-1000)', '10')
    .option('--json', 'print JSON', false)
    .action(lazyAction(async () => (await import('./upload-actions.js')).uploadsAction));

  program
    .command('upload-status')
    .description("Show an upload task: local state, history, and the server's /status when reachable")
    .argument('<task_id>', 'the task id (task_…)')
    .option('--json', 'print JSON', false)
    .action(lazyAction(async () => (await import('./upload-actions.js')).uploadStatusAction));

  program
    .command('test')
    .description(
      'Check the processing server: configuration, /health, auth, a round-trip upload of a short generated clip, its status',
    )
    .option('--json', 'print JSON', false)
    .action(lazyAction(async () => (await import('./upload-actions.js')).testAction));
}

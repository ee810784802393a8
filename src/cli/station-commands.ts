import type { Command } from 'commander';
// The client alone, not the api face: that would load Fastify and the whole station for a request.
import { StationClient } from '../api/station-client.js';
import { runAction } from './run-action.js';
// The name rule alone, not the sessions face (which loads the manager and its recorders).
import { defaultSessionName } from '../sessions/session-name.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function duration(seconds: number | null): string {
  return seconds === null ? '-' : `${seconds.toFixed(1)} s`;
}

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
    .action(
      runAction(async ({ config }, options: { sessionName?: string; json?: boolean }) => {
        const recording = await StationClient.fromConfig(config).start(
          options.sessionName ?? defaultSessionName(),
        );
        if (options.json) print(JSON.stringify(recording, null, 2));
        else print(`recording "${recording.sessionName}" (${recording.id}); stop it with: streamai stop`);
      }),
    );
  program
    .command('stop')
    .description('Stop the running station’s recording; prints the finished recording')
    .option('--json', 'print JSON')
    .action(
      runAction(async ({ config }, options: { json?: boolean }) => {
        const recording = await StationClient.fromConfig(config).stop();
        if (options.json) print(JSON.stringify(recording, null, 2));
        else {
          print(
            `stopped "${recording.sessionName}" (${recording.id}): ${duration(recording.durationSeconds)}`,
          );
          print(
            recording.upload
              ? `upload ${recording.upload.state} (${recording.upload.task_id})`
              : 'not uploaded',
          );
        }
      }),
    );
}

/** The bodies of `streamai start` and `stop`, imported only when one of them runs (see lazyAction). */
// The client alone, not the api face: that would load Fastify and the whole station for a request.
import { StationClient } from '../api/station-client.js';
// The name rule alone, not the sessions face (which loads the manager and its recorders).
import { defaultSessionName } from '../sessions/session-name.js';
import type { CommandContext } from './run-action.js';

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function duration(seconds: number | null): string {
  return seconds === null ? '-' : `${seconds.toFixed(1)} s`;
}

export async function startAction(
  { config }: CommandContext,
  options: { sessionName?: string; json?: boolean },
): Promise<void> {
  const recording = await StationClient.fromConfig(config).start(options.sessionName ?? defaultSessionName());
  if (options.json) print(JSON.stringify(recording, null, 2));
  else print(`recording "${recording.sessionName}" (${recording.id}); stop it with: streamai stop`);
}

export async function stopAction({ config }: CommandContext, options: { json?: boolean }): Promise<void> {
  const recording = await StationClient.fromConfig(config).stop();
  if (options.json) print(JSON.stringify(recording, null, 2));
  else {
    print(`stopped "${recording.sessionName}" (${recording.id}): ${duration(recording.durationSeconds)}`);
    print(
      recording.upload ? `upload ${recording.upload.state} (${recording.upload.task_id})` : 'not uploaded',
    );
  }
}

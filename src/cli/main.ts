/** The `streamai` command line: each command is a thin call into a service. */
import { Command } from 'commander';
import { createRequire } from 'node:module';
import { registerIngestCommands } from './ingest-commands.js';
import { registerUploadCommands } from './upload-commands.js';
import { registerRecordCommands } from './record-commands.js';
import { registerServeCommands } from './serve-commands.js';
import { registerStationCommands } from './station-commands.js';
import { registerWorkerCommands } from './worker-commands.js';

const require = createRequire(import.meta.url);
const { version } = require('../../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('streamai')
    .description(
      'Record sessions (OBS Studio or ffmpeg) and get every recording safely to a processing server.',
    )
    .version(version)
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });
  registerServeCommands(program);
  registerStationCommands(program);
  registerRecordCommands(program);
  registerUploadCommands(program);
  registerIngestCommands(program);
  registerWorkerCommands(program);
  return program;
}

await buildProgram().parseAsync(process.argv);

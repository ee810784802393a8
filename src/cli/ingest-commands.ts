import path from 'node:path';
import type { Command } from 'commander';
import { parseIntegerOption, runAction, untilStopSignal } from './run-action.js';

interface IngestCommandOptions {
  host?: string;
  port?: string;
  dataDir?: string;
}

/** Registers `streamai ingest`: runs the ingest server until SIGINT/SIGTERM. */
export function registerIngestCommands(program: Command): void {
  program
    .command('ingest')
    .description(
      "Run the ingest server (the processing server's receiving side: /upload, tus at /files/, /status)",
    )
    .option('--host <host>', 'bind address (default: INGEST_HOST, 127.0.0.1)')
    .option('--port <port>', 'port, 0 for any free one (default: INGEST_PORT, 8080)')
    .option('--data-dir <dir>', 'uploads, outputs and ingest.db (default: INGEST_DATA_DIR, ./ingest-data)')
    .action(
      runAction(
        async ({ config }, opts: IngestCommandOptions) => {
          // Imported here so that other commands do not load the server (see lazyAction).
          const { IngestServer, ingestOptionsFromConfig } = await import('../ingest/index.js');
          const { processorFromConfig } = await import('../processing/index.js');
          const { createLogger } = await import('../logging/index.js');
          const options = ingestOptionsFromConfig(config);
          options.createProcessor = processorFromConfig(config);
          if (opts.host !== undefined) options.host = opts.host;
          if (opts.port !== undefined) options.port = parseIntegerOption('--port', opts.port, 0, 65535);
          if (opts.dataDir !== undefined) options.dataDir = opts.dataDir;
          // The ingest server usually runs on its own machine: its own log file, next to streamai.log.
          options.logger = createLogger({
            level: config.logLevel,
            file: path.join(path.dirname(config.logFile), 'ingest.log'),
            console: true,
            name: 'streamai-ingest',
          });
          const server = new IngestServer(options);
          const url = await server.start();
          process.stdout.write(`ingest server listening on ${url}\n`);
          await untilStopSignal();
          await server.close();
          process.stdout.write('ingest server stopped\n');
        },
        { consoleLogs: true },
      ),
    );
}

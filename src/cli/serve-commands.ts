import type { Command } from 'commander';
import { parseIntegerOption, runAction } from './run-action.js';

/** Registers `streamai serve`: the station (API, web page, recorder, uploads) on :5000. */
export function registerServeCommands(program: Command): void {
  program
    .command('serve')
    .description(
      'Run the station: REST API and web page, the recorder, and the upload worker. With VULTR_API_URL unset, an embedded ingest server is started too.',
    )
    .option('--host <host>', 'bind address (HOST); anything but loopback needs STREAMAI_API_TOKEN')
    .option('--port <port>', 'port (PORT, default 5000)')
    .action(
      runAction(
        async ({ config, logger }, opts: { host?: string; port?: string }) => {
          // Imported here so that other commands do not load the station (see lazyAction).
          const { StationServer } = await import('../api/index.js');
          const server = new StationServer({
            config,
            logger,
            ...(opts.host ? { host: opts.host } : {}),
            ...(opts.port ? { port: parseIntegerOption('--port', opts.port, 0, 65535) } : {}),
          });
          const url = await server.start();
          const vultr = server.station.vultr;
          process.stdout.write(
            `StreamAI station on ${url}\n` +
              `  recorder: ${config.recorder.kind}${config.recorder.kind === 'ffmpeg' ? ` (${config.recorder.ffmpegSource})` : ''}\n` +
              `  uploads to: ${vultr.url}${vultr.embedded ? ' (embedded ingest server)' : ''}\n` +
              `  auto upload: ${config.upload.autoUpload ? 'on' : 'off'}\n` +
              'Press Ctrl-C to stop.\n',
          );
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          process.stdout.write('Stopping…\n');
          await server.close();
        },
        { consoleLogs: false },
      ),
    );
}

import type { Command } from 'commander';
import { parseIntegerOption, runAction, untilStopSignal } from './run-action.js';

interface WorkerCommandOptions {
  concurrency?: string;
  dataDir?: string;
}

/** Registers `streamai worker`: runs processing jobs from QUEUE_URL until SIGINT/SIGTERM. */
export function registerWorkerCommands(program: Command): void {
  program
    .command('worker')
    .description('Run processing jobs that ingest nodes queue on QUEUE_URL (BullMQ on PostgreSQL or Redis)')
    .option('--concurrency <n>', 'jobs at once (default: INGEST_WORKERS, 1)')
    .option(
      '--data-dir <dir>',
      'the ingest data shared with the nodes (default: INGEST_DATA_DIR, ./ingest-data)',
    )
    .action(
      runAction(
        async ({ config, logger }, opts: WorkerCommandOptions) => {
          // Imported here so that other commands do not load BullMQ or the pipeline.
          const { startQueueWorker } = await import('../processing/index.js');
          const concurrency =
            opts.concurrency === undefined
              ? config.ingest.workers
              : parseIntegerOption('--concurrency', opts.concurrency, 1, 64);
          const worker = await startQueueWorker({ config, concurrency, logger, dataDir: opts.dataDir });
          const queue = config.cluster.queue;
          const where = queue ? new URL(queue.url) : undefined;
          if (where) where.password = where.password ? '***' : '';
          process.stdout.write(
            `worker ready (${queue?.backend} queue ${where?.toString()}, concurrency ${concurrency})\n`,
          );
          await untilStopSignal();
          await worker.close();
          process.stdout.write('worker stopped\n');
        },
        { consoleLogs: true },
      ),
    );
}

import type { Config } from '../config/index.js';
import { AppError, exitCodeFor, isAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';

export interface CommandContext {
  config: Config;
  logger: Logger;
}

/**
 * Wraps a command's action: loads the configuration once, gives it a logger writing to
 * logs/streamai.log, and turns any failure into one line on stderr and the code's exit status.
 * People never see a stack trace; the log file keeps it.
 */
export function runAction<A extends unknown[]>(
  action: (ctx: CommandContext, ...args: A) => Promise<number | void>,
  options: { consoleLogs?: boolean } = {},
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let logger: Logger | undefined;
    try {
      // Imported when a command runs, not at start: `--version` and `--help` then load neither
      // zod and dotenv (the configuration) nor pino (the logger).
      const [{ loadConfig }, { createLogger }] = await Promise.all([
        import('../config/index.js'),
        import('../logging/index.js'),
      ]);
      const config = loadConfig();
      logger = createLogger({
        level: config.logLevel,
        file: config.logFile,
        console: options.consoleLogs ?? false,
      });
      const code = await action({ config, logger }, ...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (error) {
      const appError = isAppError(error) ? error : undefined;
      logger?.error({ err: error }, 'command failed');
      if (appError) {
        process.stderr.write(`error [${appError.code}]: ${appError.message}\n`);
        process.exitCode = exitCodeFor(appError.code);
      } else {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`error [INTERNAL_ERROR]: ${message}\n`);
        process.exitCode = exitCodeFor('INTERNAL_ERROR');
      }
    }
  };
}

/** For commands that need a typed option value: throws BAD_REQUEST naming the option. */
export function parseIntegerOption(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError(
      'BAD_REQUEST',
      `${name} expects a whole number from ${min} to ${max} (got "${value}")`,
    );
  }
  return n;
}

/**
 * Like runAction, but the action's module is imported only when its command runs: `--help`
 * and every other command then load none of its dependencies (less memory for long uploads,
 * and one part's failure to load cannot break another part's command).
 */
export function lazyAction<A extends unknown[]>(
  load: () => Promise<(ctx: CommandContext, ...args: A) => Promise<number | void>>,
  options: { consoleLogs?: boolean } = {},
): (...args: A) => Promise<void> {
  return runAction(async (ctx: CommandContext, ...args: A) => (await load())(ctx, ...args), options);
}

/** Resolves at the first SIGINT or SIGTERM: how a long-running command (ingest, worker) waits to stop. */
export function untilStopSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

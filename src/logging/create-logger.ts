import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type LevelWithSilent, type StreamEntry } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: LevelWithSilent;
  /** Log file (JSON lines); its folder is created. Undefined: no file. */
  file?: string | undefined;
  /** Also write JSON lines to stdout (servers do; CLI commands keep stdout for people). */
  console?: boolean;
  name?: string;
}

/**
 * A pino logger writing to the log file and, for servers, to stdout. Writes are synchronous
 * so that the last lines before a crash or process.exit reach the file.
 */
export function createLogger(options: LoggerOptions): Logger {
  const streams: StreamEntry[] = [];
  if (options.file) {
    mkdirSync(path.dirname(path.resolve(options.file)), { recursive: true });
    streams.push({
      level: 'trace',
      stream: pino.destination({ dest: options.file, sync: true, mkdir: true }),
    });
  }
  if (options.console) streams.push({ level: 'trace', stream: pino.destination({ dest: 1, sync: true }) });
  const base = { level: options.level, name: options.name ?? 'streamai' };
  if (streams.length === 0) return pino({ ...base, enabled: false });
  return pino(base, pino.multistream(streams));
}

/** A logger that drops everything: for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ enabled: false });
}

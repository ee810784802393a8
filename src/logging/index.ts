/** Logging with pino: logs/streamai.log and, for servers, stdout. */
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './create-logger.js';

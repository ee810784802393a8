import { loadConfig, type Config } from '../config/index.js';
import { silentLogger, type Logger } from '../logging/index.js';
import type { Recorder } from '../recorder/index.js';
import { Station } from '../station/index.js';

export interface CreateStationOptions {
  /** Configuration; default: the environment and ./.env (as `streamai serve` reads them). */
  config?: Config;
  /** Environment to read instead of process.env (ignored when `config` is given). */
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** A recorder of your own instead of the configured OBS / ffmpeg one. */
  recorder?: Recorder;
}

/**
 * A started recording station for programs that embed StreamAI: recorder, sessions, durable
 * uploads (and an embedded ingest server when VULTR_API_URL is unset), notifications and
 * retention — everything `streamai serve` runs but the HTTP API. Call `close()` when done.
 */
export async function createStation(options: CreateStationOptions = {}): Promise<Station> {
  const config = options.config ?? loadConfig(options.env ? { env: options.env } : {});
  const station = new Station({
    config,
    logger: options.logger ?? silentLogger(),
    ...(options.recorder ? { recorder: options.recorder } : {}),
  });
  await station.start();
  return station;
}

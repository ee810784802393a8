import type { Logger } from '../logging/index.js';

/** Options of the OBS recorder; defaults in brackets. */
export interface ObsRecorderOptions {
  host: string;
  port: number;
  password?: string | undefined;
  logger?: Logger;
  /** First reconnect delay, doubled after each failure up to reconnectMaxMs [500 ms]. */
  reconnectInitialMs?: number;
  /** [10 s] */
  reconnectMaxMs?: number;
  /** Bound on each websocket request and on the identify handshake [10 s]. */
  requestTimeoutMs?: number;
  /** How long OBS may take to report the file complete after StopRecord [30 s]. */
  stopTimeoutMs?: number;
  /** RECORDING_SEGMENT_SECONDS: cut the recording into parts of N seconds; 0 = one file [0]. */
  segmentSeconds?: number;
  /**
   * Cut by size (MB) instead of time where OBS's own splitting is used (OBS 29, which cuts by whole
   * minutes only). Not a setting of its own: it lets tests make parts in seconds.
   */
  splitSizeMb?: number;
  /**
   * Where a segmented recording's follow state is kept (the station's data folder), so a station
   * restarted while OBS records goes on collecting that recording's parts [none].
   */
  stateFile?: string;
}

/** The options with their defaults filled in (what the recorder reads). */
export type ResolvedObsOptions = Required<
  Omit<ObsRecorderOptions, 'password' | 'logger' | 'splitSizeMb' | 'stateFile'>
> & {
  password: string | undefined;
  splitSizeMb: number | undefined;
  stateFile: string | undefined;
};

/** Fills in the defaults given in brackets on ObsRecorderOptions. */
export function resolveObsOptions(options: ObsRecorderOptions): ResolvedObsOptions {
  return {
    host: options.host,
    port: options.port,
    password: options.password,
    reconnectInitialMs: options.reconnectInitialMs ?? 500,
    reconnectMaxMs: options.reconnectMaxMs ?? 10_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
    stopTimeoutMs: options.stopTimeoutMs ?? 30_000,
    segmentSeconds: options.segmentSeconds ?? 0,
    splitSizeMb: options.splitSizeMb,
    stateFile: options.stateFile,
  };
}

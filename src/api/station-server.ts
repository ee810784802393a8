import type { FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { AppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { Recorder } from '../recorder/index.js';
import { Station } from '../station/index.js';
import { isLoopbackHost } from './request-guard.js';
import { buildStationApp } from './station-app.js';

export interface StationServerOptions {
  config: Config;
  logger: Logger;
  /** Overrides of config.station.host/port (CLI flags). */
  host?: string;
  port?: number;
  recorder?: Recorder;
  webRoot?: string;
}

/** `streamai serve`: the station and its API on :5000, started and closed as one. */
export class StationServer {
  readonly station: Station;
  private app: FastifyInstance | undefined;
  private readonly host: string;
  private readonly port: number;
  private listeningUrl: string | undefined;

  constructor(private readonly options: StationServerOptions) {
    this.host = options.host ?? options.config.station.host;
    this.port = options.port ?? options.config.station.port;
    this.station = new Station({
      config: options.config,
      logger: options.logger,
      ...(options.recorder ? { recorder: options.recorder } : {}),
    });
  }

  get url(): string {
    if (!this.listeningUrl) throw new AppError('INVALID_STATE', 'the station server is not started');
    return this.listeningUrl;
  }

  /** Refuses an exposed bind without a token, starts the station, listens, resolves with the URL. */
  async start(): Promise<string> {
    const loopbackOnly = isLoopbackHost(this.host);
    const apiToken = this.options.config.station.apiToken;
    if (!loopbackOnly && apiToken === undefined) {
      throw new AppError(
        'CONFIG_INVALID',
        `STREAMAI_API_TOKEN: is required when HOST is not a loopback address (HOST=${this.host})`,
      );
    }
    await this.station.start();
    try {
      const { app } = await buildStationApp({
        station: this.station,
        logger: this.options.logger,
        apiToken,
        loopbackOnly,
        ...(this.options.webRoot ? { webRoot: this.options.webRoot } : {}),
      });
      this.app = app;
      await app.listen({ host: this.host, port: this.port }).catch((error: unknown) => {
        // A port in use or an address not ours is the user's configuration, not our bug (issue 9.15).
        const code = (error as NodeJS.ErrnoException | undefined)?.code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
          throw new AppError(
            'CONFIG_INVALID',
            `PORT/HOST: cannot listen on ${this.host}:${this.port} (${code === 'EADDRINUSE' ? 'the port is in use' : code}); set PORT or HOST (or --port/--host)`,
            { cause: error },
          );
        }
        throw error;
      });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : this.port;
      const shownHost = this.host.includes(':') ? `[${this.host}]` : this.host;
      this.listeningUrl = `http://${shownHost}:${port}`;
      return this.listeningUrl;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
    await this.station.close();
  }
}

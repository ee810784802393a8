import type { Config } from '../config/index.js';
import { AppError, isErrorCode } from '../errors/index.js';
import type { TSchema, Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import {
  RecordingAnswerSchema,
  StatusViewSchema,
  UploadStatusAnswerSchema,
  type RecordingView,
  type StatusView,
  type UploadStatusAnswer,
} from '../station/contract.js'; // the contract alone: the station face loads the whole station

/** The running station's base URL as seen from this machine (a wildcard bind is reached on loopback). */
export function stationUrl(config: Config): string {
  const host = ['0.0.0.0', '::', ''].includes(config.station.host) ? '127.0.0.1' : config.station.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.station.port}`;
}

/**
 * A small client of the station's REST API, for CLI commands that act on the running station
 * (`streamai start`, `stop`, `status`): a recording belongs to the station process, not to a
 * short-lived CLI process.
 */
export class StationClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 60_000,
  ) {}

  static fromConfig(config: Config): StationClient {
    return new StationClient(stationUrl(config), config.station.apiToken);
  }

  status(): Promise<StatusView> {
    return this.call(StatusViewSchema, 'GET', '/api/status');
  }

  /** Starts recording; without a name the station names the session recording_session_<date_time>. */
  async start(sessionName?: string): Promise<RecordingView> {
    const body = sessionName === undefined ? {} : { sessionName };
    return (await this.call(RecordingAnswerSchema, 'POST', '/api/recording/start', body)).recording;
  }

  async stop(): Promise<RecordingView> {
    return (await this.call(RecordingAnswerSchema, 'POST', '/api/recording/stop', {})).recording;
  }

  /** The station's view of an upload, with the processing server's own `/status` as `server`. */
  uploadStatus(taskId: string): Promise<UploadStatusAnswer> {
    return this.call(
      UploadStatusAnswerSchema,
      'GET',
      `/api/vultr/upload/status/${encodeURIComponent(taskId)}`,
    );
  }

  /**
   * One request; the answer is checked against the station's wire contract (src/station/
   * contract.ts), so a station of another version is reported as such, not misread.
   */
  private async call<S extends TSchema>(
    schema: S,
    method: string,
    route: string,
    body?: unknown,
  ): Promise<Static<S>> {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${route}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new AppError(
        'STATION_UNREACHABLE',
        `no station answers at ${this.baseUrl}; start it with \`streamai serve\` (or npm start)`,
        { cause: error },
      );
    }
    const parsed = (await response.json().catch(() => undefined)) as
      { success?: boolean; error?: { code?: unknown; message?: unknown } } | undefined;
    if (!response.ok) {
      const code = parsed?.error?.code;
      const message =
        typeof parsed?.error?.message === 'string' ? parsed.error.message : `HTTP ${response.status}`;
      throw new AppError(isErrorCode(code) ? code : 'SERVER_ERROR', message);
    }
    if (!Value.Check(schema, parsed)) {
      const first = Value.Errors(schema, parsed).First();
      throw new AppError(
        'SERVER_ERROR',
        `the station at ${this.baseUrl} answered ${route} with an unexpected body (${first ? `${first.path || '/'}: ${first.message}` : 'not JSON'}); is it another version of StreamAI?`,
      );
    }
    return parsed;
  }
}

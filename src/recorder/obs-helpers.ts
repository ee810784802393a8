import { stat } from 'node:fs/promises';
import type { OBSWebSocket } from 'obs-websocket-js';
import type { EventEmitter } from 'node:events';
import { AppError, type ErrorCode } from '../errors/index.js';
import { isObsWebSocketError } from './obs-client.js';
import type { ObsProfile } from './obs-split-settings.js';
import type { RecorderEvents, RecordingFinishedEvent } from './recorder.js';

/** obs-websocket's close code for a wrong or missing password. */
const AUTHENTICATION_FAILED = 4009;

export function describeConnectError(error: unknown, url: string): { code: ErrorCode; message: string } {
  if (isObsWebSocketError(error) && error.code === AUTHENTICATION_FAILED) {
    return { code: 'OBS_AUTH_FAILED', message: `OBS refused the password (check OBS_PASSWORD) at ${url}` };
  }
  return { code: 'OBS_UNREACHABLE', message: `cannot reach OBS at ${url}: ${messageOf(error)}` };
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.constructor.name;
  return String(error);
}

export async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AppError('OBS_UNREACHABLE', `${what} got no answer within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The obs-websocket requests the recorder makes. */
type Used =
  | 'GetVersion'
  | 'GetRecordStatus'
  | 'StartRecord'
  | 'StopRecord'
  | 'GetRecordDirectory'
  | 'SetRecordDirectory'
  | 'GetProfileParameter'
  | 'SetProfileParameter'
  | 'SplitRecordFile';
export type RequestMap = Pick<import('obs-websocket-js').OBSRequestTypes, Used>;
export type ResponseMap = Pick<import('obs-websocket-js').OBSResponseTypes, Used>;

/** One request, bounded in time, with OBS's failures turned into AppErrors (OBS's code in details.obsCode). */
export async function callObs<T extends keyof RequestMap>(
  client: OBSWebSocket,
  request: T,
  data: RequestMap[T] | undefined,
  timeoutMs: number,
): Promise<ResponseMap[T]> {
  try {
    return await withTimeout(
      client.call(request, data as never) as Promise<ResponseMap[T]>,
      timeoutMs,
      request,
    );
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (isObsWebSocketError(error)) {
      throw new AppError('RECORDER_UNAVAILABLE', `OBS refused ${request}: ${error.message} (${error.code})`, {
        cause: error,
        details: { obsCode: error.code },
      });
    }
    throw new AppError('OBS_UNREACHABLE', `OBS request ${request} failed: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** obs-websocket's RecordStateChanged event. */
export interface RecordStateChanged {
  outputActive: boolean;
  outputState: string;
  outputPath: string | null;
}

/** The recorder's next `finished` (resolves) or `lost` (rejects), bounded by timeoutMs. */
export function waitForFinish(
  recorder: EventEmitter<RecorderEvents>,
  timeoutMs: number,
): Promise<RecordingFinishedEvent> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      recorder.off('finished', onFinished);
      recorder.off('lost', onLost);
    };
    const onFinished = (event: RecordingFinishedEvent) => {
      cleanup();
      resolve(event);
    };
    const onLost = (event: { message: string }) => {
      cleanup();
      reject(new AppError('RECORDER_UNAVAILABLE', event.message));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new AppError('RECORDER_UNAVAILABLE', `OBS did not finish the recording within ${timeoutMs} ms`));
    }, timeoutMs);
    recorder.on('finished', onFinished);
    recorder.on('lost', onLost);
  });
}

/** The next RecordStateChanged in `state`, bounded by timeoutMs. */
export function waitForRecordState(
  client: OBSWebSocket,
  state: string,
  timeoutMs: number,
): Promise<RecordStateChanged> {
  return new Promise((resolve, reject) => {
    const onEvent = (event: RecordStateChanged) => {
      if (event.outputState !== state) return;
      clearTimeout(timer);
      client.off('RecordStateChanged', onEvent);
      resolve(event);
    };
    const timer = setTimeout(() => {
      client.off('RecordStateChanged', onEvent);
      reject(new AppError('RECORDER_UNAVAILABLE', `OBS did not report ${state}`));
    }, timeoutMs);
    client.on('RecordStateChanged', onEvent);
  });
}

/** The OBS profile, read and written through this connection. */
export function profileOf(client: OBSWebSocket, timeoutMs: number): ObsProfile {
  return {
    read: async (category, name) => {
      const answer = await callObs(
        client,
        'GetProfileParameter',
        { parameterCategory: category, parameterName: name },
        timeoutMs,
      );
      return { value: answer.parameterValue ?? null, defaultValue: answer.defaultParameterValue ?? null };
    },
    write: async (category, name, value) => {
      // obs-websocket removes a parameter set to null; its typings only say string.
      const data = { parameterCategory: category, parameterName: name, parameterValue: value as string };
      await callObs(client, 'SetProfileParameter', data, timeoutMs);
    },
  };
}

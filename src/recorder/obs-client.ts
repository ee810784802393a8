import type { OBSWebSocketError } from 'obs-websocket-js';

/**
 * obs-websocket-js, imported the first time an ObsRecorder connects rather than when this
 * folder is: it brings ws, @msgpack/msgpack, crypto-js, eventemitter3 and debug (~50 ms of a
 * start), and every command whose graph reaches `recorder/index.ts` — `streamai upload`
 * through the sessions part, `record` with RECORDER=ffmpeg — would load it without ever
 * talking to OBS.
 */
type ObsWebSocketModule = typeof import('obs-websocket-js');

let loading: Promise<ObsWebSocketModule> | undefined;
let loaded: ObsWebSocketModule | undefined;

export function loadObsWebSocket(): Promise<ObsWebSocketModule> {
  loading ??= import('obs-websocket-js').then(
    (module) => (loaded = module),
    (error: unknown) => {
      loading = undefined; // a later connect tries again
      throw error;
    },
  );
  return loading;
}

/**
 * An obs-websocket failure (a refused request, a close code). Until the library is loaded no
 * client exists, so nothing can be one.
 */
export function isObsWebSocketError(error: unknown): error is OBSWebSocketError {
  return loaded !== undefined && error instanceof loaded.OBSWebSocketError;
}

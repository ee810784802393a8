/** The station's REST API, live events and web page on :5000. */
export { StationServer, type StationServerOptions } from './station-server.js';
export { buildStationApp, defaultWebRoot, type StationAppOptions } from './station-app.js';
export { EventStream } from './event-stream.js';
export { isLoopbackHost, secretsEqual } from './request-guard.js';
export { StationClient, stationUrl } from './station-client.js';

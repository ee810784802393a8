/** Composition: how the station's parts are built and read, shared by `serve` and every command. */
export { stationSummary, type StationSummary } from './station-summary.js';

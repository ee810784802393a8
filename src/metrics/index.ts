/** Prometheus metrics (prom-client) of the station and the ingest server, served at GET /metrics. */
export {
  createStationMetrics,
  webhookGauge,
  diskGauge,
  UPLOAD_BUCKETS,
  type StationMetricsOptions,
  type UploadEventSource,
} from './station-metrics.js';
export { createIngestMetrics, type IngestMetricsOptions } from './ingest-metrics.js';
export { metricsRoutes, countBytesReceived } from './metrics-route.js';

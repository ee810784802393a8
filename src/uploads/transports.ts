import type { UploadHttpClient } from './http-client.js';
import { MultipartTransport } from './multipart-transport.js';
import type { RateLimiter } from './rate-limiter.js';
import type { Transport } from './transport.js';
import { TusTransport } from './tus-transport.js';
import type { UploadSettings } from './upload-types.js';

/** The protocols a task can be sent with; a new transport (S3) is one more entry here. */
export type TransportProtocol = Transport['protocol'];

/** Builds the transport for a protocol, sharing the HTTP pool and the rate limit. */
export function transportFor(
  protocol: TransportProtocol,
  http: UploadHttpClient,
  settings: UploadSettings,
  limiter: RateLimiter | undefined,
  tusEndpoint = '/files/',
): Transport {
  const common = {
    stallTimeoutMs: settings.stallTimeoutMs,
    requestTimeoutMs: settings.requestTimeoutMs,
    limiter,
  };
  return protocol === 'tus'
    ? new TusTransport(http, { ...common, endpoint: tusEndpoint, chunkSizeBytes: settings.chunkSizeBytes })
    : new MultipartTransport(http, { ...common, endpoint: settings.endpoint });
}

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { S3Config } from '../config/index.js';

/** How the client talks to the bucket; the defaults suit an upload over a home uplink. */
export interface S3ClientOptions {
  /** Bound on connecting [10 s]. */
  connectTimeoutMs?: number;
  /** Socket inactivity bound of one request [300 s]; stalls are the watchdog's job. */
  requestTimeoutMs?: number;
  /** Connections kept per host [16]. */
  maxSockets?: number;
  /** Attempts per request [1]; the ingest server, which has no journal to resume from, retries. */
  maxAttempts?: number;
}

// The SDK warns at its first client on Node 20 that releases after January 2027 will need
// Node 22; the version pinned in package.json supports Node 20, which `engines` allows. The
// one place this part reads the environment, and it only sets a default.
// eslint-disable-next-line no-restricted-properties
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

const QUIET = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/**
 * An S3 client for any S3-compatible store (Vultr Object Storage, Swift s3api, MinIO, AWS).
 * Checksums WHEN_REQUIRED: stores that are not AWS reject the SDK's newer default
 * x-amz-checksum-* / aws-chunked bodies (Swift ignores the checksum and refuses aws-chunked);
 * integrity comes from Content-MD5 on every part and our own ETag and sha256 checks instead.
 * One attempt per request: retries are the upload service's (one policy for every transport,
 * and a retry resumes from the journal).
 */
export function createS3Client(config: S3Config, options: S3ClientOptions = {}): S3Client {
  return new S3Client(s3ClientConfig(config, options));
}

/** The configuration `createS3Client` uses, for a library that builds its own client (@tus/s3-store). */
export function s3ClientConfig(config: S3Config, options: S3ClientOptions = {}): S3ClientConfig {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16 };
  return {
    ...(config.endpoint === undefined ? {} : { endpoint: config.endpoint }),
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: options.maxAttempts ?? 1,
    // Without a logger of its own the SDK prints to the console when a streamed part fails;
    // every failure is reported through our errors instead.
    logger: QUIET,
    requestHandler: {
      connectionTimeout: options.connectTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 300_000,
      httpAgent: new HttpAgent(agentOptions),
      httpsAgent: new HttpsAgent(agentOptions),
    },
  };
}

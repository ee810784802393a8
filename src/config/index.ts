/** Configuration: one zod schema over the environment and .env, read once into a typed Config. */
export { loadConfig, type Config, type LoadConfigOptions } from './load-config.js';
export { parseByteSize, formatBytes } from './byte-size.js';
export type { RetentionPolicy } from './schema.js';
export type { S3Config, StorageConfig } from './object-storage-config.js';
export type { ClusterConfig, QueueConfig } from './cluster-config.js';

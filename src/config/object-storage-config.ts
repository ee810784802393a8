import { AppError } from '../errors/index.js';
import type { ParsedEnv } from './schema.js';

/** An S3-compatible bucket and how to reach it (the S3_* variables). */
export interface S3Config {
  /** Undefined: the AWS endpoint of the region. Vultr: https://<region>.vultrobjects.com */
  endpoint: string | undefined;
  region: string;
  bucket: string;
  /** Key prefix of every object written, e.g. "recordings/" ("" for none). */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (endpoint/bucket/key) instead of virtual-host style (bucket.endpoint/key). */
  forcePathStyle: boolean;
}

/** Where recordings go: the station's upload target and the ingest server's file store. */
export interface StorageConfig {
  uploadTarget: 'server' | 's3';
  ingestStorage: 'fs' | 's3';
  /** Set when S3_BUCKET is set (and always when a target above is s3). */
  s3: S3Config | undefined;
}

/**
 * The storage part of the configuration. S3_BUCKET, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY
 * are required once UPLOAD_TARGET=s3 or INGEST_STORAGE=s3; a missing one is CONFIG_INVALID
 * naming it (the secret's value is never echoed).
 */
export function storageConfig(e: ParsedEnv): StorageConfig {
  const users = [
    ...(e.UPLOAD_TARGET === 's3' ? ['UPLOAD_TARGET=s3'] : []),
    ...(e.INGEST_STORAGE === 's3' ? ['INGEST_STORAGE=s3'] : []),
  ];
  const bucket = e.S3_BUCKET === undefined || e.S3_BUCKET.trim() === '' ? undefined : e.S3_BUCKET.trim();
  if (users.length === 0 && bucket === undefined) {
    return { uploadTarget: e.UPLOAD_TARGET, ingestStorage: e.INGEST_STORAGE, s3: undefined };
  }
  const why = users.length > 0 ? users.join(' and ') : 'S3_BUCKET is set';
  const required: Array<[string, string | undefined, string]> = [
    ['S3_BUCKET', bucket, 'the bucket recordings go to'],
    ['S3_ACCESS_KEY_ID', e.S3_ACCESS_KEY_ID, "the bucket's access key"],
    ['S3_SECRET_ACCESS_KEY', e.S3_SECRET_ACCESS_KEY, "the bucket's secret key"],
  ];
  for (const [name, value, what] of required) {
    if (value === undefined) {
      throw new AppError('CONFIG_INVALID', `${name}: is required when ${why} (${what})`);
    }
  }
  const prefix = e.S3_PREFIX.trim();
  return {
    uploadTarget: e.UPLOAD_TARGET,
    ingestStorage: e.INGEST_STORAGE,
    s3: {
      endpoint: e.S3_ENDPOINT,
      region: e.S3_REGION,
      bucket: bucket as string,
      // "recordings" and "recordings/" mean the same folder.
      prefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
      accessKeyId: e.S3_ACCESS_KEY_ID as string,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY as string,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
    },
  };
}

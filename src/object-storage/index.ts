/**
 * Object storage (issue 12): an S3-compatible bucket as a place for recordings. The S3 client
 * factory, the resumable multipart uploader and its journal, ETag computation, the bucket
 * check and the manifest written beside each recording.
 */
export { createS3Client, s3ClientConfig, type S3ClientOptions } from './s3-client.js';
export { s3Error, s3ErrorCode, s3Status } from './s3-errors.js';
export { ResumableMultipartUploader } from './multipart-uploader.js';
export type {
  MultipartUploaderOptions,
  MultipartUploadJob,
  MultipartUploadResult,
  RangeBody,
  WatchdogFactory,
} from './multipart-types.js';
export type { MultipartJournal, JournalUpload, JournalPart } from './multipart-journal.js';
export {
  planParts,
  partRange,
  multipartEtag,
  normalizeEtag,
  md5OfRange,
  digestFile,
  type FileDigest,
  MIN_PART_BYTES,
  MAX_PART_BYTES,
  MAX_PARTS,
  type PartPlan,
} from './multipart-etag.js';
export { checkBucket, type BucketCheck } from './bucket-check.js';
export { putManifest, manifestKeyFor, probeDurationSeconds, type RecordingManifest } from './manifest.js';
export { recordingKey, s3Url, parseS3Url } from './object-keys.js';

/**
 * Where a task's recording goes in the bucket: `<S3_PREFIX><task id>/<file name>`, the layout
 * the ingest server uses on disk (`<data>/<task_id>/<file>`), so a key names one upload and a
 * retry of the same task writes the same key. File names are kept as they are (UTF-8 keys are
 * valid S3); only "/" and control characters are replaced, so a name cannot leave its folder.
 */
export function recordingKey(prefix: string, taskId: string, fileName: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = fileName.replace(/[/\\\u0000-\u001f\u007f]/g, '_').replace(/^\.+$/, '_');
  return `${prefix}${taskId}/${safe}`;
}

/** The s3:// URL shown as a task's remote URL: bucket and key, and the UploadId while unfinished. */
export function s3Url(bucket: string, key: string, uploadId?: string): string {
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `s3://${bucket}/${path}${uploadId === undefined ? '' : `?uploadId=${encodeURIComponent(uploadId)}`}`;
}

/** The bucket, key and UploadId of an `s3Url`, or undefined when it is not one. */
export function parseS3Url(
  url: string,
): { bucket: string; key: string; uploadId: string | undefined } | undefined {
  const match = /^s3:\/\/([^/?]+)\/([^?]+)(?:\?uploadId=(.+))?$/.exec(url);
  if (!match?.[1] || !match[2]) return undefined;
  return {
    bucket: match[1],
    key: match[2].split('/').map(decodeURIComponent).join('/'),
    uploadId: match[3] === undefined ? undefined : decodeURIComponent(match[3]),
  };
}

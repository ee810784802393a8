/** Test-side helpers for the ingest server tests: files, multipart bodies, tus requests. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { once } from 'node:events';
import { request, type Dispatcher } from 'undici';

/** Writes `bytes` of random data (1 MiB random blocks, each stamped with its index) and returns its sha256. */
export async function writeRandomFile(file: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const block = randomBytes(1024 * 1024);
  let written = 0;
  let index = 0;
  while (written < bytes) {
    block.writeUInt32BE(index++, 0);
    const chunk = block.subarray(0, Math.min(block.length, bytes - written));
    const copy = Buffer.from(chunk);
    hash.update(copy);
    written += copy.length;
    if (!out.write(copy)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 (hex) of a buffer. */
export function sha256Of(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The file names inside a task folder (what a user would see on disk). */
export async function filesIn(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Every regular file under `dir` (recursively), relative paths; for "nothing partial is visible". */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) for (const f of await listFiles(full)) out.push(path.join(entry.name, f));
    else out.push(entry.name);
  }
  return out.sort();
}

/** Files a user could take for uploads: everything but the database and the hidden working folders. */
export async function visibleUploads(dataDir: string): Promise<string[]> {
  return (await listFiles(dataDir)).filter((f) => !f.startsWith('ingest.db') && !f.startsWith('.'));
}

export interface MultipartFile {
  name: string;
  contentType?: string;
  data?: Buffer;
  path?: string;
}

/**
 * A multipart/form-data body laid out as Python requests (the original client) sends it:
 * text fields first, then the file part, CRLF line ends, a fixed-style boundary.
 */
export async function multipartBody(
  fields: Record<string, string>,
  file: MultipartFile | undefined,
  fieldName = 'file',
): Promise<{ contentType: string; length: number; body: () => Readable }> {
  const boundary = randomBytes(16).toString('hex');
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  let fileHead = Buffer.alloc(0);
  let fileSize = 0;
  if (file) {
    fileHead = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${fieldName}"; filename="${file.name}"\r\n` +
        `Content-Type: ${file.contentType ?? 'video/mp4'}\r\n\r\n`,
    );
    fileSize = file.data ? file.data.length : (await stat(file.path ?? '')).size;
  }
  const tail = Buffer.from(`${file ? '\r\n' : ''}--${boundary}--\r\n`);
  const headBuf = Buffer.from(head);
  const length = headBuf.length + fileHead.length + fileSize + tail.length;
  const body = (): Readable =>
    Readable.from(
      (async function* () {
        yield headBuf;
        if (file) {
          yield fileHead;
          if (file.data) yield file.data;
          else
            for await (const chunk of createReadStream(file.path ?? '', { highWaterMark: 1024 * 1024 }))
              yield chunk as Buffer;
        }
        yield tail;
      })(),
      { objectMode: false },
    );
  return { contentType: `multipart/form-data; boundary=${boundary}`, length, body };
}

/** POSTs a multipart form to `/upload` and returns status and parsed JSON. */
export async function postUpload(
  url: string,
  fields: Record<string, string>,
  file: MultipartFile | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const form = await multipartBody(fields, file);
  const res = await request(`${url}/upload`, {
    method: 'POST',
    headers: { 'content-type': form.contentType, 'content-length': String(form.length), ...headers },
    body: form.body(),
  });
  return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
}

/** tus Upload-Metadata from plain values. */
export function tusMetadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',');
}

/** One tus request; returns status, headers and the body text. */
export async function tusRequest(
  url: string,
  method: Dispatcher.HttpMethod,
  headers: Record<string, string>,
  body?: Buffer | Readable,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const res = await request(url, {
    method,
    headers: { 'tus-resumable': '1.0.0', ...headers },
    ...(body === undefined ? {} : { body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

/** Creates a tus upload; returns its absolute URL. */
export async function tusCreate(
  baseUrl: string,
  length: number,
  metadata: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; location: string | undefined; text: string }> {
  const res = await tusRequest(`${baseUrl}/files/`, 'POST', {
    'upload-length': String(length),
    'upload-metadata': tusMetadata(metadata),
    ...headers,
  });
  const location =
    typeof res.headers.location === 'string' ? new URL(res.headers.location, baseUrl).toString() : undefined;
  return { status: res.status, location, text: res.text };
}

/** PATCHes bytes at an offset. */
export function tusPatch(
  uploadUrl: string,
  offset: number,
  body: Buffer | Readable,
  headers: Record<string, string> = {},
): ReturnType<typeof tusRequest> {
  return tusRequest(
    uploadUrl,
    'PATCH',
    { 'upload-offset': String(offset), 'content-type': 'application/offset+octet-stream', ...headers },
    body,
  );
}

/** The server's current offset for an upload (HEAD). */
export async function tusOffset(uploadUrl: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await tusRequest(uploadUrl, 'HEAD', headers);
  return Number(res.headers['upload-offset']);
}

/**
 * Opens a tus PATCH from offset 0 that declares `length` bytes and leaves the body to the
 * caller (to send part of it and cut the connection, or kill the server mid-body). Request
 * errors (the server going away) are ignored.
 */
export function openTusPatch(uploadUrl: string, length: number): http.ClientRequest {
  const req = http.request(uploadUrl, {
    method: 'PATCH',
    headers: {
      'tus-resumable': '1.0.0',
      'upload-offset': '0',
      'content-type': 'application/offset+octet-stream',
      'content-length': String(length),
    },
  });
  req.on('error', () => undefined);
  return req;
}

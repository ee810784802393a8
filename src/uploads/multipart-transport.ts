import { createHash, randomBytes } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { bodyBuffers, fileBody } from './file-body.js';
import { errorFromAnswer, type UploadHttpClient } from './http-client.js';
import type { RateLimiter } from './rate-limiter.js';
import { StallWatchdog } from './stall-watchdog.js';
import { partFields, type Transport, type TransportJob, type TransportResult } from './transport.js';

/** A quoted multipart parameter: raw UTF-8 (what browsers send) with quotes and newlines escaped. */
function quoted(value: string): string {
  return `"${value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

function fieldPart(boundary: string, name: string, value: string): string {
  return `--${boundary}\r\nContent-Disposition: form-data; name=${quoted(name)}\r\n\r\n${value}\r\n`;
}

/**
 * The multipart/form-data head and tail around the file: the original client's form fields
 * (`task_id`, `session_name`, `auto_process`, `upload_time`), then the `file` part, then the
 * `trailing` fields (our `sha256`, known only once the file's bytes went by; a server of the
 * original's kind reads form fields in any order). The leading fields come first so a server
 * can check them before the file streams in.
 */
export function multipartFrame(
  boundary: string,
  fields: Record<string, string>,
  fileName: string,
  trailing: Record<string, string> = {},
): { head: Buffer; tail: Buffer } {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(fields)) lines.push(fieldPart(boundary, name, value));
  const star = /^[\x20-\x7e]*$/.test(fileName) ? '' : `; filename*=UTF-8''${encodeURIComponent(fileName)}`;
  lines.push(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename=${quoted(fileName)}${star}\r\n` +
      // The original client always sent video/mp4 (even for .mkv); servers written for it expect that.
      'Content-Type: video/mp4\r\n\r\n',
  );
  const after = Object.entries(trailing).map(([name, value]) => fieldPart(boundary, name, value));
  return {
    head: Buffer.from(lines.join(''), 'utf8'),
    tail: Buffer.from(`\r\n${after.join('')}--${boundary}--\r\n`, 'utf8'),
  };
}

/** The original client's `upload_time`: local time as `YYYY-MM-DD HH:MM:SS`. */
export function originalUploadTime(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`
  );
}

/**
 * A streamed multipart POST to VULTR_API_URL + VULTR_UPLOAD_ENDPOINT, as the original client
 * sent it, so servers users already run keep working. Not resumable: a retry sends it all again.
 */
export class MultipartTransport implements Transport {
  readonly protocol = 'multipart' as const;

  constructor(
    private readonly http: UploadHttpClient,
    private readonly options: {
      endpoint: string;
      stallTimeoutMs: number;
      requestTimeoutMs: number;
      limiter: RateLimiter | undefined;
    },
  ) {}

  async upload(job: TransportJob): Promise<TransportResult> {
    job.onConfirmed(0);
    const boundary = `----streamai${randomBytes(12).toString('hex')}`;
    const fields: Record<string, string> = {
      task_id: job.taskId,
      session_name: job.sessionName ?? '',
      auto_process: job.autoProcess ? 'true' : 'false',
      upload_time: originalUploadTime(new Date()),
    };
    // A part's fields go before the file too: the server checks them before it streams in.
    for (const [name, value] of Object.entries(partFields(job))) if (value !== null) fields[name] = value;
    // The digest is computed on the bytes as they go and sent as a field after the file; its
    // length (64 hex digits) is fixed, so Content-Length is known before it is.
    const { head, tail: sizedTail } = multipartFrame(boundary, fields, job.fileName, {
      sha256: '0'.repeat(64),
    });
    const hash = createHash('sha256');
    let sha256 = '';
    const controller = new AbortController();
    const forward = (): void => controller.abort(job.signal.reason);
    if (job.signal.aborted) forward();
    job.signal.addEventListener('abort', forward, { once: true });
    const watchdog = new StallWatchdog(
      controller,
      this.options.stallTimeoutMs,
      Math.max(this.options.stallTimeoutMs, this.options.requestTimeoutMs),
    );
    const limiter = this.options.limiter;
    const buffers = bodyBuffers();
    async function* body(): AsyncGenerator<Uint8Array> {
      yield head;
      yield* fileBody(job.filePath, 0, job.size, {
        buffers,
        limiter,
        signal: controller.signal,
        onBytes: job.onBytes,
        onPull: () => watchdog.touch(),
        hash,
      });
      try {
        await job.beforeComplete?.();
      } catch (error) {
        controller.abort(error); // the server sees a cut body and keeps nothing
        throw error;
      }
      sha256 = hash.digest('hex');
      const { tail } = multipartFrame(boundary, {}, job.fileName, { sha256 });
      yield tail;
      watchdog.bodyDone();
    }
    let answer;
    try {
      answer = await this.http.send('POST', this.options.endpoint, {
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + job.size + sizedTail.length),
        },
        body: body(),
        signal: controller.signal,
        what: 'upload',
      });
    } finally {
      watchdog.stop();
      job.signal.removeEventListener('abort', forward);
    }
    if (answer.status < 200 || answer.status >= 300) throw errorFromAnswer(answer, 'upload');
    if (sha256 === '') {
      // A 2xx before the whole body went out: the server cannot have stored the file.
      throw new AppError('UPLOAD_INCOMPLETE', 'upload: the server answered before the whole file was sent');
    }
    let parsed: Record<string, unknown> = {};
    try {
      const value: unknown = JSON.parse(answer.text);
      if (value && typeof value === 'object') parsed = value as Record<string, unknown>;
    } catch {
      // A 2xx without JSON: an older server; the size check below still applies if it answers one.
    }
    if (parsed['success'] === false) throw errorFromAnswer({ ...answer, status: 502 }, 'upload');
    // Ours answers `file_size` (and `sha256`); the original's kind answers `size` and no digest.
    const size = typeof parsed['file_size'] === 'number' ? parsed['file_size'] : parsed['size'];
    if (typeof size === 'number' && size !== job.size) {
      throw new AppError(
        'UPLOAD_INCOMPLETE',
        `upload: the server stored ${size} bytes of ${job.size}; upload the file again`,
      );
    }
    job.onConfirmed(job.size);
    const digest = parsed['sha256'];
    return {
      sha256,
      serverSha256: typeof digest === 'string' && digest !== '' ? digest.toLowerCase() : null,
      sizeConfirmed: typeof size === 'number',
    };
  }

  async terminate(): Promise<void> {
    // Nothing is kept on the server for an unfinished multipart upload.
  }
}

import { randomUUID } from 'node:crypto';
import { AppError, isAppError } from '../errors/index.js';
import type { Logger } from '../logging/index.js';
import type { Db, S3ProcessRequestRecord } from '../store/index.js';
import { S3ProcessRequestRepository } from '../store/s3-process-request-repository.js';
import { errorFromAnswer, type HttpAnswer, type UploadHttpClient } from './http-client.js';
import { isRetryable, retryDelayMs } from './retry-policy.js';
import type { S3ProcessingStart } from './s3-task-target.js';
import { seconds } from './task-view.js';
import type { UploadSettings, UploadTask } from './upload-types.js';

/** What the starter needs: the processing server (its pool) and the service's retry timings. */
export interface S3ProcessingOptions {
  db: Db;
  http: UploadHttpClient;
  serverUrl: string;
  settings: Pick<
    UploadSettings,
    | 'retryBaseDelayMs'
    | 'retryMaxDelayMs'
    | 'insufficientStorageDelayMs'
    | 'retryAfterMaxMs'
    | 'requestTimeoutMs'
    | 'connectTimeoutMs'
  >;
  logger: Logger;
  /** A line in the task's history (the task is completed; this never moves it). */
  note: (taskId: string, message: string) => void;
}

/** The view of a stored request (UploadTask.s3.processing). */
export function processingStartOf(record: S3ProcessRequestRecord | undefined): S3ProcessingStart | null {
  if (!record) return null;
  return {
    state: record.state,
    attempts: record.attempts,
    lastError:
      record.errorCode === null ? null : { code: record.errorCode, message: record.errorMessage ?? '' },
    nextAttemptAt:
      record.state === 'pending' && record.attempts > 0 ? new Date(record.nextAttemptAt).toISOString() : null,
  };
}

/**
 * After a completed S3 upload with auto-process on, asks the processing server to process the
 * object: `POST /process-object {key, sha256, task_id, filename}` (CONTRACTS, Round 2). The
 * upload is done whatever happens here (the object is in the bucket, verified): a failure is
 * written to the task's history and the request's row, and retried with the upload policy's
 * backoff — temporary failures (unreachable, 5xx, 429) until the server answers, across
 * restarts; a refusal (401, 400, 404, 422) is final and shown.
 *
 * States of one request (s3_process_requests): pending ──claim (lease)──► asking ──2xx──►
 * started; asking ──temporary failure──► pending (next_attempt_at); asking ──refusal──► failed.
 */
export class S3ProcessingStarter {
  private readonly repo: S3ProcessRequestRepository;
  private readonly owner = `station-${randomUUID()}`;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: S3ProcessingOptions) {
    this.repo = new S3ProcessRequestRepository(options.db);
  }

  /** A completed task's request, as the views show it. */
  view(taskId: string): S3ProcessingStart | null {
    return processingStartOf(this.repo.get(taskId));
  }

  /** Called with every task that completed: an S3 task with auto-process gets its request. */
  afterUpload(task: UploadTask): void {
    if (this.closed || task.state !== 'completed' || !task.autoProcess || !task.object || !task.sha256)
      return;
    const added = this.repo.add({
      taskId: task.id,
      serverUrl: this.options.serverUrl,
      key: task.object.key,
      sha256: task.sha256,
      fileName: task.fileName,
    });
    if (added) this.kick();
  }

  /** Asks for every pending request whose time has come (after a restart too), then waits for the next. */
  start(): void {
    if (!this.closed) this.kick();
  }

  /**
   * Stops asking. A request in flight is finished first (bounded by the request timeouts), so
   * `streamai upload`, which closes as soon as its task completed, still gets processing started.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private kick(): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    // One pass at a time; a kick during a pass reschedules after it. A pass that failed (the
    // database, say) is logged and does not stop the next one.
    const previous = this.running ?? Promise.resolve();
    this.running = previous
      .then(() => this.pass())
      .catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'process-object requests: a pass failed'),
      )
      .finally(() => this.schedule());
  }

  private schedule(): void {
    if (this.closed) return;
    const next = this.repo.nextDue();
    if (next === undefined) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - Date.now()) + 5);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    const { settings } = this.options;
    const leaseMs = settings.requestTimeoutMs + settings.connectTimeoutMs + 5000;
    // A pass started before close() runs to its end: what was due when it began is asked.
    for (const request of this.repo.due(Date.now())) {
      if (!this.repo.claim(request.taskId, this.owner, Date.now(), leaseMs)) continue;
      await this.ask({ ...request, attempts: request.attempts + 1 });
    }
  }

  private async ask(request: S3ProcessRequestRecord): Promise<void> {
    const { http, logger, serverUrl } = this.options;
    const note = (taskId: string, message: string): void => {
      try {
        this.options.note(taskId, message);
      } catch (error) {
        // The task left `completed` meanwhile (deleted by retention, say): the row says it all.
        logger.debug({ err: error, taskId }, 'could not add the processing line to the history');
      }
    };
    const where = `${serverUrl} (POST /process-object)`;
    try {
      const answer = await http.short('POST', '/process-object', {
        what: 'process-object',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          key: request.key,
          sha256: request.sha256,
          task_id: request.taskId,
          filename: request.fileName,
        }),
      });
      if (answer.status < 200 || answer.status >= 300) throw refusal(answer);
      if (this.repo.settle(request.taskId, this.owner, { state: 'started' })) {
        note(request.taskId, `processing started: ${where} accepted ${request.key}${messageOf(answer.text)}`);
      }
    } catch (error) {
      const appError = isAppError(error)
        ? error
        : new AppError('INTERNAL_ERROR', error instanceof Error ? error.message : String(error));
      const info = { code: appError.code, message: appError.message };
      if (isRetryable(appError)) {
        const delay = retryDelayMs(appError, request.attempts, this.options.settings);
        if (
          this.repo.settle(request.taskId, this.owner, {
            state: 'pending',
            nextAttemptAt: Date.now() + delay,
            error: info,
          })
        ) {
          note(
            request.taskId,
            `processing not started yet: ${where} failed (${info.code}: ${info.message}); the upload stays completed, asking again in ${seconds(delay)}`,
          );
        }
      } else if (this.repo.settle(request.taskId, this.owner, { state: 'failed', error: info })) {
        note(
          request.taskId,
          `processing not started: ${where} refused it (${info.code}: ${info.message}); the object stays in the bucket`,
        );
      }
      logger.warn({ err: appError, taskId: request.taskId }, 'process-object request failed');
    }
  }
}

/**
 * A non-2xx answer as an error; a 404 says which of the two it can mean. A server that cannot
 * process objects from a bucket at all (PROCESSING_UNAVAILABLE: it keeps its files on disk, or
 * processes nothing) is a configuration to change, not a moment to wait out: final.
 */
function refusal(answer: HttpAnswer): AppError {
  if (serverCodeOf(answer.text) === 'PROCESSING_UNAVAILABLE') {
    return new AppError(
      'PROCESSING_UNAVAILABLE',
      `process-object: the server cannot process objects from the bucket (HTTP ${answer.status})${messageOf(answer.text)}`,
      { details: { httpStatus: answer.status } },
    );
  }
  if (answer.status !== 404) return errorFromAnswer(answer, 'process-object');
  return new AppError(
    'UPLOAD_FAILED',
    `process-object: the server has no such object in its bucket, or offers no POST /process-object (HTTP 404)${messageOf(answer.text)}`,
    { details: { httpStatus: 404 } },
  );
}

function serverCodeOf(text: string): string | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The server's `message` (or error message) from a JSON answer, as " (server: …)", else "". */
function messageOf(text: string): string {
  try {
    const body = JSON.parse(text) as { message?: unknown; error?: { message?: unknown } };
    const said = typeof body.message === 'string' ? body.message : body.error?.message;
    return typeof said === 'string' && said !== '' ? ` (server: ${said.slice(0, 300)})` : '';
  } catch {
    return '';
  }
}

import { AppError } from '../errors/index.js';

/**
 * Aborts an upload request that makes no progress for `stallMs` (instead of one deadline for
 * the whole file), then bounds the wait for the answer after the last byte by `answerMs`.
 */
export class StallWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private waitingForAnswer = false;

  constructor(
    private readonly controller: AbortController,
    private readonly stallMs: number,
    private readonly answerMs: number,
  ) {
    this.arm();
  }

  /** Progress was made: the clock starts again. */
  touch(): void {
    if (!this.waitingForAnswer) this.arm();
  }

  /** Every byte is handed over; from now on only the answer is awaited. */
  bodyDone(): void {
    this.waitingForAnswer = true;
    this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const ms = this.waitingForAnswer ? this.answerMs : this.stallMs;
    this.timer = setTimeout(() => {
      const message = this.waitingForAnswer
        ? `no answer within ${ms / 1000} s after the last byte sent (the server may have stopped reading)`
        : `no upload progress for ${ms / 1000} s (VULTR_UPLOAD_STALL_TIMEOUT)`;
      this.controller.abort(new AppError('UPLOAD_STALLED', message));
    }, ms);
    this.timer.unref();
  }
}

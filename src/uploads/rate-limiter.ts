import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket shared by every upload of a service, so VULTR_UPLOAD_MAX_RATE caps their
 * sum (the uplink a live stream shares), not each one. The bucket holds at most a tenth of
 * a second's worth, so the rate holds over short windows too.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(private readonly bytesPerSecond: number) {
    this.capacity = Math.max(64 * 1024, bytesPerSecond / 10);
    this.tokens = this.capacity;
    this.last = performance.now();
  }

  /**
   * The largest piece worth asking for at once: a piece bigger than the bucket would go as one
   * burst followed by a pause, which is what the limit is there to avoid for a live stream.
   */
  get pieceBytes(): number {
    return Math.floor(this.capacity); // a read's length must be a whole number of bytes
  }

  /** Waits until `bytes` may be sent. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
      this.last = now;
      // A chunk bigger than the bucket goes once the bucket is full, leaving a debt.
      if (this.tokens >= Math.min(bytes, this.capacity)) {
        this.tokens -= bytes;
        return;
      }
      const missing = Math.min(bytes, this.capacity) - this.tokens;
      await sleep(Math.max(1, Math.ceil((missing / this.bytesPerSecond) * 1000)), undefined, { signal });
    }
  }
}

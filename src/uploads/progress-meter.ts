/** Upload rate over a sliding window, and the ETA it implies. */
export class ProgressMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly windowMs = 5000) {}

  /** Records that `bytes` (a running total) were reached now. */
  add(bytes: number, at = performance.now()): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - (this.samples[0]?.at ?? at) > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window (0 until two samples exist). */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at <= first.at) return 0;
    return Math.max(0, ((last.bytes - first.bytes) / (last.at - first.at)) * 1000);
  }

  /** Seconds left at the current rate, or null when the rate is unknown. */
  eta(done: number, total: number): number | null {
    const rate = this.rate();
    if (done >= total) return 0;
    return rate > 0 ? Math.ceil((total - done) / rate) : null;
  }
}

/** Upload rate over a sliding window, and the ETA it implies. */
export class ProgressMeter {
  private readonly samples: Array<{ at: number; bytes: number }> = [];

  private startedAt: number | undefined;

  /**
   * `warmupMs`: bytes handed to the socket in the first moments fill its send buffers, not the
   * link, so a rate measured from the very start was about twice the truth early in an upload
   * (issue 9.17). Samples in the warm-up only move the baseline; the rate (and ETA) is measured
   * from its end, over what the link has really taken since.
   */
  constructor(
    private readonly windowMs = 5000,
    private readonly warmupMs = 1000,
  ) {}

  /** Records that `bytes` (a running total) were reached now. */
  add(bytes: number, at = performance.now()): void {
    this.startedAt ??= at;
    if (at - this.startedAt < this.warmupMs) {
      this.samples.splice(0, this.samples.length, { at, bytes });
      return;
    }
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

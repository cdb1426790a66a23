/**
 * Ack latencies for the summary: exact percentiles from a bounded sample (uniform reservoir),
 * so a long run never holds more than {@link RESERVOIR} numbers.
 *
 * @module
 */

/** Samples kept: 8 MiB of doubles; percentiles of a uniform sample this size are within ~0.1 %. */
export const RESERVOIR = 1 << 20

/** A latency recorder. */
export class Latency {
  private readonly samples: Float64Array = new Float64Array(RESERVOIR)
  private seen = 0
  max = 0

  /** Records one latency in milliseconds. */
  record(ms: number): void {
    if (ms > this.max) this.max = ms
    if (this.seen < RESERVOIR) {
      this.samples[this.seen] = ms
    } else {
      const slot = Math.floor(Math.random() * (this.seen + 1))
      if (slot < RESERVOIR) this.samples[slot] = ms
    }
    this.seen++
  }

  /** Number of latencies recorded. */
  get count(): number {
    return this.seen
  }

  /** The given percentiles (0–100), in milliseconds; `NaN` when nothing was recorded. */
  percentiles(ps: ReadonlyArray<number>): Array<number> {
    const n = Math.min(this.seen, RESERVOIR)
    if (n === 0) return ps.map(() => Number.NaN)
    const sorted = this.samples.slice(0, n).sort()
    return ps.map((p) => sorted[Math.min(n - 1, Math.ceil((p / 100) * n) - 1)] ?? Number.NaN)
  }
}

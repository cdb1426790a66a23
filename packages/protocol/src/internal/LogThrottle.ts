/**
 * Throttling for warnings a peer can trigger at wire speed — a flood of bad frames, a
 * reconnect loop — so that a misbehaving peer cannot turn the log into the bottleneck. Shared by
 * the sender and the receiver; their metrics still count every event.
 *
 * @module
 */

/** At most one warning per key per interval; the number suppressed meanwhile goes with the next. */
export class LogThrottle {
  // One entry per key: callers use a small fixed set of keys (error kinds), so this stays small.
  private readonly last = new Map<string, { at: number; suppressed: number }>()

  constructor(
    /** Minimum time between two warnings of one key, in milliseconds. */
    readonly intervalMs = 1000,
    private readonly now: () => number = Date.now
  ) {}

  /**
   * The text to log for this warning — `message`, with `(N similar suppressed)` appended when
   * some were — or `undefined` when it is suppressed. A burst's last suppressed count is only
   * reported by the next warning of its key.
   */
  admit(key: string, message: string): string | undefined {
    const now = this.now()
    const last = this.last.get(key)
    if (last !== undefined && now - last.at < this.intervalMs) {
      last.suppressed++
      return undefined
    }
    this.last.set(key, { at: now, suppressed: 0 })
    const suppressed = last?.suppressed ?? 0
    return suppressed > 0 ? `${message} (${suppressed} similar suppressed)` : message
  }
}

/**
 * Scrape-time metrics, shared by `@txlane/sender` and `@txlane/receiver` so both follow the same
 * Prometheus conventions: base units (`_seconds`, `_bytes`), counters ending in `_total`, one
 * bucket list for every latency histogram.
 *
 * The hot paths only bump plain numbers. Each series is registered with `Metric.registerUnsafe`
 * hooks that read those numbers when a snapshot is taken, so a metric costs nothing per batch.
 * Every series is registered twice: in the registry of the owner's context (the process-wide one
 * unless the host provided another), so one scrape shows every sender and receiver; and in a
 * private registry, so `metrics()` on one sender or receiver shows that owner's series only.
 *
 * @internal
 * @module
 */
import { Context, Metric } from "effect"
import { PrometheusMetrics } from "effect/observability"

/**
 * Upper bounds of every latency histogram, in seconds: 50 µs (a local queue push, a round trip
 * on an idle Unix socket) to 10 s (a consensus node stuck past any sane timeout).
 */
export const LATENCY_BUCKETS_SECONDS: ReadonlyArray<number> = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
]

/** A fixed-bucket latency histogram in seconds that allocates nothing per observation. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(LATENCY_BUCKETS_SECONDS.length)
  /** Observations recorded. */
  count = 0
  /** Sum of the observations, in seconds. */
  sum = 0
  private min = Number.POSITIVE_INFINITY
  private max = Number.NEGATIVE_INFINITY

  /** Records one observation given in milliseconds (what `performance.now()` differences are). */
  readonly recordMs = (ms: number): void => {
    const seconds = ms / 1000
    this.count++
    this.sum += seconds
    if (seconds < this.min) this.min = seconds
    if (seconds > this.max) this.max = seconds
    const b = LATENCY_BUCKETS_SECONDS
    for (let i = 0; i < b.length; i++) {
      if (seconds <= b[i]!) {
        this.counts[i]!++
        return
      }
    }
  }

  /** The state in Effect's shape: cumulative `[boundary, count]` pairs. */
  state(): Metric.HistogramState {
    const buckets: Array<[number, number]> = []
    let cumulative = 0
    for (let i = 0; i < LATENCY_BUCKETS_SECONDS.length; i++) {
      cumulative += this.counts[i]!
      buckets.push([LATENCY_BUCKETS_SECONDS[i]!, cumulative])
    }
    return {
      buckets,
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? 0 : this.min,
      max: this.count === 0 ? 0 : this.max
    }
  }
}

/** The series of one owner (a sender or a receiver), registered with {@link registrar}. */
export interface Registrar {
  /** A monotonic counter read at scrape time. */
  readonly counter: (name: string, description: string, read: () => number, extra?: Record<string, string>) => void
  /** A gauge read at scrape time. */
  readonly gauge: (name: string, description: string, read: () => number, extra?: Record<string, string>) => void
  /** A histogram whose state is read at scrape time. */
  readonly histogram: (name: string, description: string, histogram: LatencyHistogram) => void
  /** This owner's series only, in the Prometheus text exposition format. */
  readonly format: () => string
  /** Removes every series of this owner from both registries. */
  readonly remove: () => void
}

const noop = (): void => {}

/**
 * Starts registering one owner's series in the registry of `context` and in a private one.
 * `attributes` (e.g. `{ sender: "sender-1" }`) go on every series, so owners sharing a registry
 * never overwrite each other.
 */
export const registrar = (context: Context.Context<never>, attributes: Record<string, string>): Registrar => {
  const own = Context.make(Metric.MetricRegistry, new Map())
  const registrations: Array<Metric.Registration> = []
  const register = <I, S>(metric: Metric.Metric<I, S>, get: () => S) => {
    const hooks = { get, update: noop, modify: noop }
    registrations.push(Metric.registerUnsafe(metric, context, hooks), Metric.registerUnsafe(metric, own, hooks))
  }
  return {
    counter: (name, description, read, extra) =>
      register(
        Metric.counter(name, { description, incremental: true, attributes: { ...attributes, ...extra } }),
        () => ({ count: read(), incremental: true })
      ),
    gauge: (name, description, read, extra) =>
      register(Metric.gauge(name, { description, attributes: { ...attributes, ...extra } }), () => ({
        value: read()
      })),
    histogram: (name, description, histogram) =>
      register(Metric.histogram(name, { description, boundaries: LATENCY_BUCKETS_SECONDS, attributes }), () =>
        histogram.state()
      ),
    format: () => PrometheusMetrics.formatUnsafe(own),
    remove: () => {
      for (const r of registrations.splice(0)) r.remove()
    }
  }
}

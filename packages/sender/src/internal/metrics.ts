/**
 * Exposes a sender's plain counters as Effect metrics. The hot path only bumps numbers; each
 * series is registered with `Metric.registerUnsafe` and read at scrape time, so metrics cost
 * nothing per batch. Series carry a `sender` attribute (the sender's `name`) so several senders
 * in one process (one registry) never overwrite each other.
 *
 * @module
 */
import { type Context, Metric } from "effect"
import type { Counters } from "./batch.js"

/** Upper bounds of the acknowledgement latency buckets, in milliseconds (50 µs to 10 s). */
export const LATENCY_BOUNDARIES_MS: ReadonlyArray<number> = [
  0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
]

/** A fixed-bucket latency histogram that allocates nothing per observation. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(LATENCY_BOUNDARIES_MS.length)
  count = 0
  sum = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY

  /** Records one observation. */
  readonly record = (ms: number): void => {
    this.count++
    this.sum += ms
    if (ms < this.min) this.min = ms
    if (ms > this.max) this.max = ms
    const b = LATENCY_BOUNDARIES_MS
    for (let i = 0; i < b.length; i++) {
      if (ms <= b[i]!) {
        this.counts[i]!++
        return
      }
    }
  }

  /** The state in Effect's shape: cumulative `[boundary, count]` pairs. */
  state(): Metric.HistogramState {
    const buckets: Array<[number, number]> = []
    let cumulative = 0
    for (let i = 0; i < LATENCY_BOUNDARIES_MS.length; i++) {
      cumulative += this.counts[i]!
      buckets.push([LATENCY_BOUNDARIES_MS[i]!, cumulative])
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

/** What the metric hooks read. */
export interface Source {
  readonly name: string
  readonly counters: Counters
  readonly latency: LatencyHistogram
  readonly queueDepth: () => number
  readonly queueCapacity: number
  readonly inFlight: () => number
  readonly workerBusy: () => ReadonlyArray<number>
}

const noop = () => {}

/** Registers every series of one sender; returns a function that removes them all. */
export const register = (context: Context.Context<never>, source: Source): (() => void) => {
  const registrations: Array<Metric.Registration> = []
  const base = { sender: source.name }
  const c = source.counters
  const counter = (name: string, description: string, read: () => number, extra: Record<string, string> = {}) => {
    const metric = Metric.withAttributes(Metric.counter(name, { description, incremental: true }), {
      ...base,
      ...extra
    })
    registrations.push(
      Metric.registerUnsafe(metric, context, {
        get: () => ({ count: read(), incremental: true }),
        update: noop,
        modify: noop
      })
    )
  }
  const gauge = (name: string, description: string, read: () => number, extra: Record<string, string> = {}) => {
    const metric = Metric.withAttributes(Metric.gauge(name, { description }), { ...base, ...extra })
    registrations.push(
      Metric.registerUnsafe(metric, context, { get: () => ({ value: read() }), update: noop, modify: noop })
    )
  }
  counter("txlane_sender_batches_accepted_total", "Batches accepted onto the send queue", () => c.accepted)
  counter("txlane_sender_batches_sent_total", "Frame writes, resends included", () => c.batchesSent)
  counter("txlane_sender_transactions_sent_total", "Transactions in written frames", () => c.transactionsSent)
  counter("txlane_sender_bytes_sent_total", "Bytes written, headers included", () => c.bytesSent)
  counter(
    "txlane_sender_batches_delivered_total",
    "Batches accepted by the peer's answer (or flushed, against a silent peer)",
    () => c.delivered
  )
  counter("txlane_sender_responses_total", "Responses read", () => c.responses)
  counter("txlane_sender_acknowledged_total", "Batches settled by a success=true answer", () => c.acknowledged)
  counter("txlane_sender_dropped_total", "Batches dropped by the drop overflow policy", () => c.dropped)
  counter(
    "txlane_sender_retries_total",
    "Resends: after a broken connection, an ack timeout or a transient answer",
    () => c.retries
  )
  counter("txlane_sender_connects_total", "Successful connects", () => c.connects)
  counter("txlane_sender_reconnects_total", "Successful connects after a worker's first", () => c.reconnects)
  counter(
    "txlane_sender_unanswered_total",
    "Frames written on connections that closed before answering them",
    () => c.unanswered
  )
  const failures: Array<[string, () => number]> = [
    ["rejected", () => c.rejected - c.malformedResponses],
    ["malformed_response", () => c.malformedResponses],
    ["queue_full", () => c.queueFull],
    ["connect", () => c.connectFailures],
    ["connection", () => c.connectionErrors],
    ["ack_timeout", () => c.ackTimeouts],
    ["gave_up", () => c.failed],
    ["transient", () => c.transientRejections],
    ["out_of_step", () => c.outOfStep],
    ["untracked_answer", () => c.untrackedAnswers]
  ]
  for (const [kind, read] of failures) {
    counter("txlane_sender_failures_total", "Failures by kind", read, { kind })
  }
  gauge("txlane_sender_queue_depth", "Batches in the send queue", source.queueDepth)
  gauge("txlane_sender_queue_capacity", "Capacity of the send queue", () => source.queueCapacity)
  gauge("txlane_sender_in_flight", "Batches held by workers and not settled", source.inFlight)
  const busy = source.workerBusy()
  for (let i = 0; i < busy.length; i++) {
    gauge(
      "txlane_sender_worker_busy_ratio",
      "Fraction of a worker's life spent not waiting for batches",
      () => source.workerBusy()[i] ?? 0,
      {
        worker: String(i)
      }
    )
  }
  const histogram = Metric.withAttributes(
    Metric.histogram("txlane_sender_ack_latency_ms", {
      description: "Write-to-answer latency of batches sent to an answering peer, in milliseconds",
      boundaries: LATENCY_BOUNDARIES_MS
    }),
    base
  )
  registrations.push(
    Metric.registerUnsafe(histogram, context, { get: () => source.latency.state(), update: noop, modify: noop })
  )
  return () => {
    for (const r of registrations) r.remove()
  }
}

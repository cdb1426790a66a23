/**
 * Registers a sender's plain counters as scrape-time series (see `@txlane/protocol/internal`'s
 * registrar): the hot path only bumps numbers; each series reads them when a snapshot is taken.
 * Every series carries a `sender` attribute (the sender's `name`) so several senders in one
 * registry never overwrite each other, and is also kept in the sender's private registry, so
 * `metrics()` shows that sender's series only.
 *
 * @module
 */
import { LatencyHistogram, registrar } from "@txlane/protocol/internal"
import type { Context } from "effect"
import { names } from "../Metrics.js"
import type { Counters } from "./batch.js"

export { LatencyHistogram }

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

/** One sender's registered series. */
export interface Registered {
  /** This sender's series only, in the Prometheus text format. */
  readonly format: () => string
  /** Removes every series of this sender. */
  readonly remove: () => void
}

/** Registers every series of one sender in the registry of `context` (and its private one). */
export const register = (context: Context.Context<never>, source: Source): Registered => {
  const r = registrar(context, { sender: source.name })
  const c = source.counters
  r.counter(names.accepted, "Batches accepted onto the send queue", () => c.accepted)
  r.counter(names.batchesSent, "Frame writes, resends included", () => c.batchesSent)
  r.counter(names.transactionsSent, "Transactions in written frames", () => c.transactionsSent)
  r.counter(names.bytesSent, "Bytes written, headers included", () => c.bytesSent)
  r.counter(
    names.delivered,
    "Batches accepted by the peer's answer (or flushed, against a silent peer)",
    () => c.delivered
  )
  r.counter(names.responses, "Responses read", () => c.responses)
  r.counter(names.acknowledged, "Batches settled by a success=true answer", () => c.acknowledged)
  r.counter(names.dropped, "Batches dropped by the drop overflow policy", () => c.dropped)
  r.counter(names.retries, "Resends: after a broken connection, an ack timeout or a transient answer", () => c.retries)
  r.counter(names.connects, "Successful connects", () => c.connects)
  r.counter(names.reconnects, "Successful connects after a worker's first", () => c.reconnects)
  r.counter(names.unanswered, "Frames written on connections that closed before answering them", () => c.unanswered)
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
  for (const [kind, read] of failures) r.counter(names.failures, "Failures by kind", read, { kind })
  r.gauge(names.queueDepth, "Batches in the send queue", source.queueDepth)
  r.gauge(names.queueCapacity, "Capacity of the send queue", () => source.queueCapacity)
  r.gauge(names.inFlight, "Batches held by workers and not settled", source.inFlight)
  const busy = source.workerBusy()
  for (let i = 0; i < busy.length; i++) {
    r.gauge(
      names.workerBusyRatio,
      "Fraction of a worker's life spent not waiting for batches",
      () => source.workerBusy()[i] ?? 0,
      { worker: String(i) }
    )
  }
  r.histogram(
    names.ackLatency,
    "Write-to-answer latency of batches sent to an answering peer, in seconds",
    source.latency
  )
  return { format: r.format, remove: r.remove }
}
